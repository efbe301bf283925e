package action

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/sethvargo/go-githubactions"
)

// TargetSHA picks the commit the check run is attached to: the `sha` input
// when given (a dispatched deploy names its commit), else the pull request's
// head commit from the event payload for pull_request* events (GITHUB_SHA is
// then a merge commit no one looks at), else GITHUB_SHA. source says which.
// sha is "" when none is known.
func TargetSHA(in Inputs, c *githubactions.GitHubContext) (sha, source string) {
	if in.SHA != "" {
		return in.SHA, "the sha input"
	}
	if c == nil {
		return "", ""
	}
	if strings.HasPrefix(c.EventName, "pull_request") {
		if pr, ok := c.Event["pull_request"].(map[string]any); ok {
			if head, ok := pr["head"].(map[string]any); ok {
				if s, ok := head["sha"].(string); ok && s != "" {
					return s, "the pull request's head"
				}
			}
		}
	}
	if c.SHA != "" {
		return c.SHA, "GITHUB_SHA"
	}
	return "", ""
}

// Workspace locates the folders the action works in.
type Workspace struct {
	// Root is GITHUB_WORKSPACE (or the current directory).
	Root string
	// Repo is the repository's root: the nearest folder from Dir up to Root
	// that holds .git, else Root (actions/checkout may check out into a
	// sub-folder with `path:`).
	Repo string
	// Dir is the absolute working directory.
	Dir string
	// Prefix is Dir relative to Repo, with forward slashes ("" at the root):
	// what annotation paths are prefixed with.
	Prefix string
}

// ResolveWorkspace resolves the working-directory input against root.
func ResolveWorkspace(root, workingDirectory string) (Workspace, error) {
	if root == "" {
		wd, err := os.Getwd()
		if err != nil {
			return Workspace{}, fmt.Errorf("current directory: %w", err)
		}
		root = wd
	}
	root, err := filepath.Abs(root)
	if err != nil {
		return Workspace{}, fmt.Errorf("workspace %s: %w", root, err)
	}
	dir := root
	if wd := strings.TrimSpace(workingDirectory); wd != "" {
		if filepath.IsAbs(wd) {
			dir = filepath.Clean(wd)
		} else {
			dir = filepath.Join(root, wd)
		}
		if rel, err := filepath.Rel(root, dir); err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			return Workspace{}, fmt.Errorf("input working-directory: %s is outside the workspace %s; give a path relative to the repository root, e.g. `app`", workingDirectory, root)
		}
	}
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return Workspace{}, fmt.Errorf("input working-directory: %s is not a folder of the checked-out repository (did a checkout step run before this one?)", workingDirectory)
	}
	ws := Workspace{Root: root, Dir: dir, Repo: root}
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, ".git")); err == nil {
			ws.Repo = d
			break
		}
		if d == root || d == filepath.Dir(d) {
			break
		}
	}
	rel, err := filepath.Rel(ws.Repo, dir)
	if err != nil {
		return Workspace{}, fmt.Errorf("working directory %s: %w", dir, err)
	}
	if rel = filepath.ToSlash(rel); rel != "." {
		ws.Prefix = rel
	}
	return ws, nil
}

// CheckedOut returns the commit checked out in the git work tree at repo,
// read from .git without running git; ok is false when it cannot be told
// (no .git, an unborn branch, an unusual layout).
func CheckedOut(repo string) (sha string, ok bool) {
	gitDir := filepath.Join(repo, ".git")
	st, err := os.Stat(gitDir)
	if err != nil {
		return "", false
	}
	if !st.IsDir() { // a worktree or submodule: "gitdir: PATH"
		data, err := os.ReadFile(gitDir)
		if err != nil {
			return "", false
		}
		p, found := strings.CutPrefix(strings.TrimSpace(string(data)), "gitdir:")
		if !found {
			return "", false
		}
		p = strings.TrimSpace(p)
		if !filepath.IsAbs(p) {
			p = filepath.Join(repo, p)
		}
		gitDir = p
	}
	head, err := os.ReadFile(filepath.Join(gitDir, "HEAD"))
	if err != nil {
		return "", false
	}
	h := strings.TrimSpace(string(head))
	ref, isRef := strings.CutPrefix(h, "ref:")
	if !isRef {
		return h, shaRE.MatchString(h)
	}
	ref = strings.TrimSpace(ref)
	dirs := []string{gitDir}
	if common, err := os.ReadFile(filepath.Join(gitDir, "commondir")); err == nil {
		c := strings.TrimSpace(string(common))
		if !filepath.IsAbs(c) {
			c = filepath.Join(gitDir, c)
		}
		dirs = append(dirs, c)
	}
	for _, d := range dirs {
		if data, err := os.ReadFile(filepath.Join(d, filepath.FromSlash(ref))); err == nil {
			s := strings.TrimSpace(string(data))
			return s, shaRE.MatchString(s)
		}
		if f, err := os.Open(filepath.Join(d, "packed-refs")); err == nil {
			sc := bufio.NewScanner(f)
			for sc.Scan() {
				if s, name, ok := strings.Cut(sc.Text(), " "); ok && name == ref {
					f.Close()
					return s, shaRE.MatchString(s)
				}
			}
			f.Close()
		}
	}
	return "", false
}
