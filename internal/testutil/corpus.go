// Package testutil holds helpers shared by tests: where the real-file corpus
// lives and how to reach it.
package testutil

import (
	"os"
	"path/filepath"
	"testing"
)

// RepoRoot returns the directory holding go.mod, found by walking up from the
// test's working directory.
func RepoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatalf("getwd: %v", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatalf("no go.mod above the test's directory")
		}
		dir = parent
	}
}

// CorpusDir returns the path of ../shared/corpus/<sub> beside the repository
// (or $DEPLOY_ACTION_CORPUS/<sub> when that variable is set). When the corpus
// is missing the test is skipped with a clear message, except under CI=true,
// where a missing corpus is a failure: CI must test on real files.
func CorpusDir(t testing.TB, sub string) string {
	t.Helper()
	base := os.Getenv("DEPLOY_ACTION_CORPUS")
	if base == "" {
		base = filepath.Join(RepoRoot(t), "..", "shared", "corpus")
	}
	dir := filepath.Join(base, sub)
	if _, err := os.Stat(dir); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("corpus folder %s is missing (CI must run on the real corpus): %v", dir, err)
		}
		t.Skipf("corpus folder %s is missing; set DEPLOY_ACTION_CORPUS to the shared corpus to run this test", dir)
	}
	return dir
}
