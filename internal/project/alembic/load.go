package alembic

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"

	"github.com/grupo-gad/deploy-action/internal/report"
)

// LoadScripts reads the revision modules of the script folder dir (a path
// inside fsys, forward slashes): the *.py files of <dir>/versions, or, when
// versionLocations are given, of those folders instead, as Alembic does. It
// skips __init__.py (and any name starting with "__init__" or ".#") and
// __pycache__. The modules' paths are dir-joined paths inside fsys, so with
// fsys rooted at the validated directory they are the paths findings need.
//
// A missing <dir>/versions is a warning finding (modern Alembic then finds
// no migration at all; Alembic before 1.8 stops with FileNotFoundError); a
// missing version location is skipped, as Alembic skips it. Folders that
// are not valid fs paths (absolute, or leaving fsys with "..") are skipped.
func LoadScripts(fsys fs.FS, dir string, versionLocations ...string) ([]*Revision, []report.Finding) {
	if len(versionLocations) > 0 {
		return loadVersions(fsys, versionLocations, false, "")
	}
	return loadVersions(fsys, []string{path.Join(dir, "versions")}, false, dir)
}

// Load reads the revisions of this script location from fsys (rooted at
// the validated directory): its version_locations when set (recursively
// with recursive_version_locations = true), else <Dir>/versions. For a
// package location it uses the first candidate folder that exists. It
// reads nothing for absolute or unresolved locations, which do not map to
// the repository.
func (l ScriptLocation) Load(fsys fs.FS) ([]*Revision, []report.Finding) {
	var dirs []string
	for _, v := range l.VersionLocations {
		if d := existingDir(fsys, v); d != "" {
			dirs = append(dirs, d)
		}
	}
	if len(dirs) > 0 {
		return loadVersions(fsys, dirs, l.Recursive, "")
	}
	if len(l.VersionLocations) > 0 {
		return nil, nil
	}
	dir := existingDir(fsys, l.PathRef)
	if dir == "" {
		return nil, nil
	}
	return loadVersions(fsys, []string{path.Join(dir, "versions")}, l.Recursive, dir)
}

// existingDir returns the folder of ref that exists in fsys, or "".
func existingDir(fsys fs.FS, ref PathRef) string {
	cands := []string{ref.Dir}
	switch ref.Kind {
	case PathAbsolute, PathUnresolved:
		return ""
	case PathPackage:
		cands = ref.Candidates
	}
	for _, d := range cands {
		if !fs.ValidPath(d) {
			continue
		}
		if st, err := fs.Stat(fsys, d); err == nil && st.IsDir() {
			return d
		}
	}
	return ""
}

// isRevisionFile matches Alembic's _only_source_rev_file,
// (?!\.\#|__init__)(.*\.py)$.
func isRevisionFile(name string) bool {
	return strings.HasSuffix(name, ".py") && !strings.HasPrefix(name, ".#") && !strings.HasPrefix(name, "__init__")
}

// loadVersions reads the revision modules of dirs. scriptDir, when not
// empty, makes a missing first folder a finding.
func loadVersions(fsys fs.FS, dirs []string, recursive bool, scriptDir string) ([]*Revision, []report.Finding) {
	var revs []*Revision
	var found []report.Finding
	seen := map[string]bool{}
	var walk func(dir string, top bool)
	walk = func(dir string, top bool) {
		if !fs.ValidPath(dir) {
			return
		}
		entries, err := fs.ReadDir(fsys, dir)
		if err != nil {
			if top && scriptDir != "" && errors.Is(err, fs.ErrNotExist) {
				found = append(found, report.Finding{
					Rule: RuleVersions, Severity: report.Warning, Location: report.Location{File: scriptDir},
					Title:   "migrations folder has no versions folder",
					Message: fmt.Sprintf("%s has no versions folder, so Alembic finds no migration and \"alembic upgrade head\" creates no table (Alembic before 1.8 stops with FileNotFoundError). Git does not keep empty folders, so a versions folder with no migration yet is lost on clone.", scriptDir),
					Fix:     fmt.Sprintf("Create %s/versions and commit it (add an empty .gitkeep file while it has no migration).", scriptDir),
				})
			} else if !errors.Is(err, fs.ErrNotExist) {
				found = append(found, report.Finding{
					Rule: RuleVersions, Severity: report.Warning, Location: report.Location{File: dir},
					Title:   "versions folder cannot be read",
					Message: fmt.Sprintf("deploy-action could not list %s (%v), so its migrations were not checked.", dir, err),
					Fix:     "Make the folder readable.",
				})
			}
			return
		}
		for _, e := range entries {
			name := e.Name()
			p := path.Join(dir, name)
			if e.IsDir() {
				if recursive && name != "__pycache__" {
					walk(p, false)
				}
				continue
			}
			if !isRevisionFile(name) || seen[p] {
				continue
			}
			seen[p] = true
			data, err := fs.ReadFile(fsys, p)
			if err != nil {
				found = append(found, report.Finding{
					Rule: RuleRevision, Severity: report.Warning, Location: report.Location{File: p},
					Title:   "migration cannot be read",
					Message: fmt.Sprintf("deploy-action could not read %s (%v), so it is left out of the revision graph.", p, err),
					Fix:     "Make the file readable.",
				})
				continue
			}
			rev, f := ParseRevision(p, data)
			revs = append(revs, rev)
			found = append(found, f...)
		}
	}
	for _, d := range dirs {
		walk(path.Clean(d), true)
	}
	return revs, found
}
