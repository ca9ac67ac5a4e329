package devlib

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
)

var tools = []string{"clang-15", "llvm-link-15", "opt-15", "llc-15", "llvm-nm-15", "llvm-cxxfilt-15"}

func needTools(t *testing.T) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("toolchain missing: %s not in PATH", tool)
		}
	}
}

func run(t *testing.T, stdin []byte, name string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(name, args...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, tail(errb.String()))
	}
	return out.Bytes()
}

func tail(s string) string {
	if len(s) > 4000 {
		return s[:4000] + "\n..."
	}
	return s
}

// Bitcode of the library per std, built once per test binary.
var (
	libOnce sync.Map // std -> *libBuild
	tmpRoot string
	tmpOnce sync.Once
)

type libBuild struct {
	once sync.Once
	path string
	err  error
	msg  string
}

func tmpDir(t *testing.T) string {
	tmpOnce.Do(func() {
		d, err := os.MkdirTemp("", "devlib-test-")
		if err != nil {
			t.Fatal(err)
		}
		tmpRoot = d
	})
	return tmpRoot
}

func TestMain(m *testing.M) {
	code := m.Run()
	if tmpRoot != "" {
		os.RemoveAll(tmpRoot)
	}
	os.Exit(code)
}

func libBC(t *testing.T, std string) string {
	t.Helper()
	v, _ := libOnce.LoadOrStore(std, &libBuild{})
	b := v.(*libBuild)
	dir := tmpDir(t)
	b.once.Do(func() {
		src := filepath.Join(dir, "devlib-"+std+".cl")
		if b.err = os.WriteFile(src, []byte(Source(std)), 0o644); b.err != nil {
			return
		}
		b.path = filepath.Join(dir, "devlib-"+std+".bc")
		args := append(Flags(std), "-o", b.path, src)
		out, err := exec.Command("clang-15", args...).CombinedOutput()
		b.err, b.msg = err, string(out)
	})
	if b.err != nil {
		t.Fatalf("compiling devlib for %s: %v\n%s", std, b.err, tail(b.msg))
	}
	return b.path
}

func definedSyms(t *testing.T, bc string) map[string]bool {
	out := run(t, nil, "llvm-nm-15", "--defined-only", "--format=just-symbols", bc)
	m := map[string]bool{}
	for _, l := range strings.Fields(string(out)) {
		m[l] = true
	}
	return m
}

func undefinedSyms(t *testing.T, bc string) []string {
	out := run(t, nil, "llvm-nm-15", "--undefined-only", "--format=just-symbols", bc)
	return strings.Fields(string(out))
}

func kernelFlags(std string) []string {
	f := []string{"-x", "cl", "-cl-std=" + std, "-Xclang", "-finclude-default-header",
		"-target", "x86_64-unknown-linux-gnu", "-Xclang", "-ffake-address-space-map",
		"-cl-kernel-arg-info", "-O2", "-fno-vectorize", "-fno-slp-vectorize", "-Wno-psabi",
		"-gline-tables-only", "-emit-llvm", "-c"}
	return append(f, KernelDefines(std)...)
}

func compileKernel(t *testing.T, std, name, src string) string {
	dir := tmpDir(t)
	p := filepath.Join(dir, name+"-"+std+".cl")
	if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	bc := filepath.Join(dir, name+"-"+std+".bc")
	run(t, nil, "clang-15", append(kernelFlags(std), "-o", bc, p)...)
	return bc
}

// commonUses calls the most common builtins; every symbol it leaves
// undefined must be defined by the library.
const commonUses = `
kernel void uses(global float *f, global int *i, global uint *u, global long *l, global double *d,
                 local int *li, global float4 *f4, global int4 *i4) {
  size_t g = get_global_id(0) + get_local_id(0) + get_group_id(0) + get_global_size(0) +
             get_local_size(0) + get_num_groups(0) + get_global_offset(0) + get_work_dim();
#if __OPENCL_C_VERSION__ >= 200
  g += get_enqueued_local_size(0) + get_global_linear_id() + get_local_linear_id();
  work_group_barrier(CLK_GLOBAL_MEM_FENCE);
  work_group_barrier(CLK_GLOBAL_MEM_FENCE, memory_scope_work_group);
  global atomic_int *ai = (global atomic_int *)i;
  atomic_fetch_add_explicit(ai, 1, memory_order_relaxed, memory_scope_all_svm_devices);
  atomic_fetch_add(ai, 1); atomic_store(ai, 2); i[9] = atomic_load(ai);
  int e = 0; atomic_compare_exchange_strong(ai, &e, 3);
  atomic_work_item_fence(CLK_GLOBAL_MEM_FENCE, memory_order_seq_cst, memory_scope_device);
  i[10] = atomic_flag_test_and_set((global atomic_flag *)(i + 11));
#endif
  barrier(CLK_LOCAL_MEM_FENCE); mem_fence(CLK_GLOBAL_MEM_FENCE);
  read_mem_fence(CLK_GLOBAL_MEM_FENCE); write_mem_fence(CLK_GLOBAL_MEM_FENCE);
  atomic_add(i, 1); atomic_inc(li); atomic_cmpxchg(u, 1u, 2u); atomic_max(i, 3); atom_add(l, 1L);
  atomic_xchg(f, 1.0f);
  float x = f[g];
  f[0] = sqrt(x) + sin(x) + cos(x) + exp(x) + log(x) + pow(x, 2.0f) + fabs(x) + floor(x) + fma(x, x, x) +
         mad(x, x, x) + rsqrt(x) + native_sqrt(x) + half_exp(x) + fmin(x, 1.0f) + fmax(x, 2.0f) + tanh(x) +
         atan2(x, 1.0f) + hypot(x, x) + exp2(x) + log2(x) + cbrt(x) + clamp(x, 0.0f, 1.0f) + mix(x, x, 0.5f) +
         degrees(x) + step(x, 1.0f) + smoothstep(0.0f, 1.0f, x) + sign(x) + dot(f4[0], f4[1]) + length(f4[0]) +
         ldexp(x, 2) + copysign(x, -1.0f) + trunc(x) + round(x) + ceil(x) + fmod(x, 3.0f);
  d[0] = sqrt(d[1]) + exp(d[1]) + pow(d[1], d[2]) + fma(d[1], d[2], d[3]);
  f4[2] = sin(f4[0]) + normalize(f4[1]) + cross(f4[0], f4[1]) + select(f4[0], f4[1], i4[0]) + convert_float4(i4[0]);
  i4[1] = isnan(f4[0]) + isless(f4[0], f4[1]) + convert_int4_sat_rte(f4[0]) + (int)abs(i4[2]).x + clz(i4[0]) + min(i4[0], 3);
  i[1] = mul_hi(i[2], i[3]) + popcount(i[2]) + add_sat(i[2], i[3]) + rotate(i[2], 3) + abs_diff(i[2], 3) + any(i4[0]) +
         all(i4[0]) + isinf(x) + isfinite(x) + signbit(x) + convert_int(x) + convert_int_sat(x) + max(i[2], i[3]) + mad24(i[2], i[3], 1);
  u[1] = convert_uint_sat(l[1]) + (uint)convert_uchar_sat(i[4]);
  f4[3] = vload4(1, f) + vload_half4(0, (global half *)i);
  vstore4(f4[0], 2, f); vstore_half(x, 3, (global half *)i); vstore_half_rtz(x, 4, (global half *)i);
  float s, c; s = sincos(x, &c); int ex; f[5] = frexp(x, &ex) + modf(x, &s) + c + ex;
  i4[3] = shuffle(i4[0], (uint4)(3, 2, 1, 0));
  event_t ev = async_work_group_copy(li, (const global int *)i, 16, 0);
  wait_group_events(1, &ev);
}
`

func TestCommonBuiltinsDefined(t *testing.T) {
	needTools(t)
	var wg sync.WaitGroup
	for _, std := range Stds {
		std := std
		wg.Add(1)
		go func() { defer wg.Done(); libBC(t, std) }()
	}
	wg.Wait()
	for _, std := range Stds {
		t.Run(std, func(t *testing.T) {
			lib := definedSyms(t, libBC(t, std))
			k := compileKernel(t, std, "uses", commonUses)
			n := 0
			for _, s := range undefinedSyms(t, k) {
				if !strings.HasPrefix(s, "_Z") {
					continue
				}
				n++
				if !lib[s] {
					t.Errorf("%s: builtin %s used by the kernel is not defined by devlib", std, s)
				}
			}
			if n < 60 {
				t.Errorf("%s: only %d builtin symbols referenced; the kernel did not compile as expected", std, n)
			}
		})
	}
}

// TestUndefinedBuiltins lists, per std, the builtins clang-15's header
// declares that the library leaves undefined (run with -v to see them).
func TestUndefinedBuiltins(t *testing.T) {
	needTools(t)
	for _, std := range Stds {
		t.Run(std, func(t *testing.T) {
			lib := definedSyms(t, libBC(t, std))
			dir := tmpDir(t)
			p := filepath.Join(dir, "hdr.cl")
			os.WriteFile(p, []byte("#include <opencl-c.h>\n"), 0o644)
			args := []string{"-x", "cl", "-cl-std=" + std, "-target", "x86_64-unknown-linux-gnu",
				"-Xclang", "-ffake-address-space-map", "-fsyntax-only", "-Xclang", "-ast-dump=json"}
			args = append(append(args, KernelDefines(std)...), p)
			cmd := exec.Command("clang-15", args...)
			out, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			declared := map[string]bool{}
			sc := bufio.NewScanner(out)
			sc.Buffer(make([]byte, 1<<20), 1<<24)
			for sc.Scan() {
				l := strings.TrimSpace(sc.Text())
				if strings.HasPrefix(l, `"mangledName": "_Z`) {
					declared[strings.TrimSuffix(strings.TrimPrefix(l, `"mangledName": "`), `",`)] = true
				}
			}
			if err := cmd.Wait(); err != nil {
				t.Fatalf("clang ast-dump: %v", err)
			}
			var undef []string
			nhalf := 0
			for s := range declared {
				if lib[s] {
					continue
				}
				if strings.Contains(s, "Dh") { // a half (cl_khr_fp16) parameter
					nhalf++
					continue
				}
				undef = append(undef, s)
			}
			sort.Strings(undef)
			// group by function name
			dem := run(t, []byte(strings.Join(undef, "\n")), "llvm-cxxfilt-15")
			byName := map[string]int{}
			for _, l := range strings.Split(string(dem), "\n") {
				if i := strings.IndexByte(l, '('); i > 0 {
					byName[l[:i]]++
				}
			}
			names := make([]string, 0, len(byName))
			for n := range byName {
				names = append(names, n)
			}
			sort.Strings(names)
			t.Logf("%s: %d builtin overloads declared, %d defined, %d with half parameters undefined, %d other undefined in %d functions",
				std, len(declared), len(declared)-len(undef)-nhalf, nhalf, len(undef), len(names))
			var b strings.Builder
			for _, n := range names {
				b.WriteString(n)
				b.WriteString(" ")
			}
			t.Logf("%s undefined (besides half overloads): %s", std, b.String())
			if len(declared) < 5000 {
				t.Fatalf("only %d declarations parsed from the header", len(declared))
			}
		})
	}
}
