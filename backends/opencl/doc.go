// Package opencl is svmrt's OpenCL backend (package doc in progress).
package opencl
