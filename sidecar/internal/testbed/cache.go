package testbed

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
)

// Pinned versions of what the test bed runs. libchdb 26.5.x fails every
// BACKUP to S3 ("BackupsIOThreadPool is not initialized"); 26.7.3 works.
const (
	LibchdbPackage = "@chdb/lib-linux-x64-gnu"
	LibchdbVersion = "26.7.3-stable.1"
	MinIOModule    = "github.com/minio/minio"
	MinIOVersion   = "v0.0.0-20260212201848-7aac2a2c5b7c"
)

// Environment variables that point the test bed at files it would otherwise
// download or build.
const (
	EnvCacheDir = "CLICKVAULT_CACHE"   // cache directory (default ~/.cache/clickvault)
	EnvLibchdb  = "CLICKVAULT_LIBCHDB" // an existing libchdb.so
	EnvMinIO    = "CLICKVAULT_MINIO"   // an existing minio binary
)

// CacheDir is where downloads and builds are kept between runs, outside the
// repository.
func CacheDir() (string, error) {
	if dir := os.Getenv(EnvCacheDir); dir != "" {
		return dir, nil
	}
	base, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("find cache directory (set %s): %w", EnvCacheDir, err)
	}
	return filepath.Join(base, "clickvault"), nil
}

// cachedFile returns path, creating it with make first if it is missing. A
// file lock keeps parallel test processes from fetching it twice; make writes
// to a temporary name that is renamed into place, so a half-written file is
// never used.
func cachedFile(path string, make func(tmp string) error) (string, error) {
	if _, err := os.Stat(path); err == nil {
		return path, nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return "", fmt.Errorf("create cache directory: %w", err)
	}
	unlock, err := lockFile(path + ".lock")
	if err != nil {
		return "", err
	}
	defer unlock()
	if _, err := os.Stat(path); err == nil {
		return path, nil // another process made it while we waited
	}
	tmp := fmt.Sprintf("%s.%d.tmp", path, os.Getpid())
	// Gone after the rename; after a failure, a leftover in the cache is harmless.
	defer func() { _ = os.RemoveAll(tmp) }()
	if err := make(tmp); err != nil {
		return "", err
	}
	if err := os.Rename(tmp, path); err != nil {
		return "", fmt.Errorf("move %s into the cache: %w", filepath.Base(path), err)
	}
	return path, nil
}

func lockFile(path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open cache lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		_ = f.Close() // the lock's failure is the news
		return nil, fmt.Errorf("lock cache: %w", err)
	}
	return func() {
		// Closing the lock file releases the lock whatever the unlock said.
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		_ = f.Close()
	}, nil
}

// Libchdb returns the path of libchdb.so, downloading it from the npm
// registry with `npm pack` on first use.
func Libchdb(ctx context.Context) (string, error) {
	if p := os.Getenv(EnvLibchdb); p != "" {
		return existingFile("libchdb ("+EnvLibchdb+")", p)
	}
	cache, err := CacheDir()
	if err != nil {
		return "", err
	}
	path := filepath.Join(cache, "chdb", LibchdbVersion, "libchdb.so")
	return cachedFile(path, func(tmp string) error {
		return downloadLibchdb(ctx, filepath.Dir(path), tmp)
	})
}

func downloadLibchdb(ctx context.Context, dir, dest string) error {
	spec := LibchdbPackage + "@" + LibchdbVersion
	if _, err := exec.LookPath("npm"); err != nil {
		return fmt.Errorf("get libchdb: npm is not installed, and it is needed once to download %s "+
			"(install Node.js and npm, or set %s to an existing libchdb.so): %w", spec, EnvLibchdb, err)
	}
	out, err := runCommand(ctx, dir, nil, "npm", "pack", "--silent", spec)
	if err != nil {
		return fmt.Errorf("get libchdb: download %s from the npm registry: %w", spec, err)
	}
	tarball := filepath.Join(dir, strings.TrimSpace(lastLine(out)))
	defer func() { _ = os.Remove(tarball) }() // only read; a leftover is harmless
	if err := extractFromTarball(tarball, "package/libchdb.so", dest); err != nil {
		return fmt.Errorf("get libchdb: %w", err)
	}
	return nil
}

func extractFromTarball(tarball, member, dest string) error {
	f, err := os.Open(tarball)
	if err != nil {
		return fmt.Errorf("open %s: %w", filepath.Base(tarball), err)
	}
	defer func() { _ = f.Close() }() // only read
	gz, err := gzip.NewReader(f)
	if err != nil {
		return fmt.Errorf("read %s: %w", filepath.Base(tarball), err)
	}
	tr := tar.NewReader(gz)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return fmt.Errorf("find %s in %s: not there", member, filepath.Base(tarball))
		}
		if err != nil {
			return fmt.Errorf("read %s: %w", filepath.Base(tarball), err)
		}
		if h.Name == member {
			return writeFile(dest, tr, 0o755)
		}
	}
}

func writeFile(path string, r io.Reader, mode os.FileMode) error {
	out, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode)
	if err != nil {
		return fmt.Errorf("create %s: %w", filepath.Base(path), err)
	}
	if _, err := io.Copy(out, r); err != nil {
		_ = out.Close() // the failed write is the news
		return fmt.Errorf("write %s: %w", filepath.Base(path), err)
	}
	return out.Close()
}

// MinIOBinary returns the path of the pinned MinIO server, building it from
// the Go module proxy on first use (about two minutes on two cores).
func MinIOBinary(ctx context.Context) (string, error) {
	if p := os.Getenv(EnvMinIO); p != "" {
		return existingFile("minio ("+EnvMinIO+")", p)
	}
	cache, err := CacheDir()
	if err != nil {
		return "", err
	}
	path := filepath.Join(cache, "bin", "minio-"+MinIOVersion)
	return cachedFile(path, func(tmp string) error {
		gobin := tmp + ".gobin"
		defer func() { _ = os.RemoveAll(gobin) }() // a leftover in the cache is harmless
		spec := MinIOModule + "@" + MinIOVersion
		if _, err := runCommand(ctx, "", []string{"GOBIN=" + gobin}, "go", "install", spec); err != nil {
			return fmt.Errorf("get minio: build %s with the Go module proxy: %w", spec, err)
		}
		return os.Rename(filepath.Join(gobin, "minio"), tmp)
	})
}

// EngineBinary builds the server process (sidecar/internal/testbed/cmd/testbed-clickhouse)
// from this checkout.
func EngineBinary(ctx context.Context) (string, error) {
	return BuildBinary(ctx, "github.com/clickvault/clickvault/sidecar/internal/testbed/cmd/testbed-clickhouse", "testbed-clickhouse")
}

// BuildBinary builds a package of this checkout into the cache as name. It
// is rebuilt each time a process asks, so it always matches the code under
// test; Go's build cache makes that quick.
func BuildBinary(ctx context.Context, pkg, name string) (string, error) {
	cache, err := CacheDir()
	if err != nil {
		return "", err
	}
	dir := filepath.Join(cache, "bin")
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return "", fmt.Errorf("create cache directory: %w", err)
	}
	path := filepath.Join(dir, name)
	tmp := fmt.Sprintf("%s.%d.tmp", path, os.Getpid())
	if _, err := runCommand(ctx, moduleDir(), nil, "go", "build", "-o", tmp, pkg); err != nil {
		return "", fmt.Errorf("build %s: %w", name, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return "", fmt.Errorf("move %s into the cache: %w", name, err)
	}
	return path, nil
}

// moduleDir finds this module's root from the working directory, so the
// engine can be built from a test (run in its package directory) or a tool.
func moduleDir() string {
	dir, err := os.Getwd()
	if err != nil {
		return ""
	}
	for d := dir; d != filepath.Dir(d); d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d
		}
	}
	return dir
}

func existingFile(what, path string) (string, error) {
	if _, err := os.Stat(path); err != nil {
		return "", fmt.Errorf("find %s: %w", what, err)
	}
	return path, nil
}

// runCommand runs a command and returns its stdout; on failure the error
// carries the tail of its stderr, which says why.
func runCommand(ctx context.Context, dir string, env []string, name string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, tail(stderr.String(), 2000))
	}
	return stdout.String(), nil
}

func tail(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}
