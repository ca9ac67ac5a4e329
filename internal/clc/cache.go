package clc

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"sync"
)

// FormatVersion is part of every cache key: bump it when the layout of a
// cached entry or the meaning of the compiler flags changes, so old entries
// are never read back as new ones.
const FormatVersion = "clc-2"

// Cache is an on-disk store of build results keyed by strings. Entries are
// written to a temporary file and renamed into place, so concurrent processes
// sharing the directory see either no entry or a whole one; each entry has a
// header with its length and SHA-256, so a truncated or corrupted file is
// detected and rebuilt instead of returned.
type Cache struct {
	dir string // "" = disabled: Get always builds

	mu       sync.Mutex
	inflight map[string]*sync.Mutex // one build per key within the process
}

// NewCache returns a cache in dir (created on first write); dir "" gives a
// disabled cache.
func NewCache(dir string) *Cache { return &Cache{dir: dir} }

// Dir is the cache directory, "" when disabled.
func (c *Cache) Dir() string { return c.dir }

var (
	defaultOnce  sync.Once
	defaultCache *Cache
)

// DefaultCache is $SVMRT_CACHE_DIR, else os.UserCacheDir()/svmrt/clc;
// SVMRT_CACHE=off (or no usable cache dir) disables it. It is read once per
// process.
func DefaultCache() *Cache {
	defaultOnce.Do(func() {
		defaultCache = NewCache(defaultCacheDir())
	})
	return defaultCache
}

func defaultCacheDir() string {
	if os.Getenv("SVMRT_CACHE") == "off" {
		return ""
	}
	if d := os.Getenv("SVMRT_CACHE_DIR"); d != "" {
		return d
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(d, "svmrt", "clc")
}

// CacheKey hashes parts (length-prefixed, so ("ab","c") != ("a","bc")) with
// FormatVersion into a hex key.
func CacheKey(parts ...string) string {
	h := sha256.New()
	for _, p := range append([]string{FormatVersion}, parts...) {
		var n [8]byte
		binary.LittleEndian.PutUint64(n[:], uint64(len(p)))
		h.Write(n[:])
		h.Write([]byte(p))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// entry header: magic, payload length, payload SHA-256.
var entryMagic = []byte("SVMRTCC1")

const headerLen = 8 + 8 + sha256.Size

// Get returns the entry for key, calling build and storing its result when
// there is no valid entry. A build error is returned and nothing is stored.
// A failure to write the cache is not an error: the result is still good.
func (c *Cache) Get(key string, build func() ([]byte, error)) ([]byte, error) {
	if c == nil || c.dir == "" {
		return build()
	}
	lock := c.keyLock(key)
	lock.Lock()
	defer lock.Unlock()

	path := c.path(key)
	if data, ok := readEntry(path); ok {
		return data, nil
	}
	data, err := build()
	if err != nil {
		return nil, err
	}
	_ = writeEntry(path, data)
	return data, nil
}

func (c *Cache) keyLock(key string) *sync.Mutex {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.inflight == nil {
		c.inflight = map[string]*sync.Mutex{}
	}
	l := c.inflight[key]
	if l == nil {
		l = &sync.Mutex{}
		c.inflight[key] = l
	}
	return l
}

// path hashes the key again, so any string is a safe file name; the first
// two hex digits fan entries out over subdirectories.
func (c *Cache) path(key string) string {
	sum := sha256.Sum256([]byte(key))
	name := hex.EncodeToString(sum[:])
	return filepath.Join(c.dir, name[:2], name)
}

func readEntry(path string) ([]byte, bool) {
	raw, err := os.ReadFile(path)
	if err != nil || len(raw) < headerLen || !bytes.Equal(raw[:8], entryMagic) {
		return nil, false
	}
	n := binary.LittleEndian.Uint64(raw[8:16])
	payload := raw[headerLen:]
	if uint64(len(payload)) != n {
		return nil, false
	}
	if sum := sha256.Sum256(payload); !bytes.Equal(sum[:], raw[16:headerLen]) {
		return nil, false
	}
	return payload, true
}

func writeEntry(path string, data []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	var hdr [headerLen]byte
	copy(hdr[:8], entryMagic)
	binary.LittleEndian.PutUint64(hdr[8:16], uint64(len(data)))
	sum := sha256.Sum256(data)
	copy(hdr[16:], sum[:])
	_, err = f.Write(hdr[:])
	if err == nil {
		_, err = f.Write(data)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return errors.Join(errors.New("clc: cache write"), err)
	}
	return nil
}
