package alembic

import (
	"path"
	"strings"

	"github.com/grupo-gad/deploy-action/internal/lazyre"
	"github.com/grupo-gad/deploy-action/internal/report"
)

// PathKind says how a script_location or version_locations entry is
// written, which decides what it is relative to.
type PathKind int

// The path kinds.
const (
	// PathRelative is a relative path ("migrations"): Alembic uses it
	// relative to its working directory.
	PathRelative PathKind = iota
	// PathHere starts with %(here)s: relative to the ini file's folder.
	PathHere
	// PathAbsolute is an absolute path inside the image ("/app/migrations").
	PathAbsolute
	// PathPackage is a package resource ("myapp:migrations"): any
	// non-absolute value holding a ":".
	PathPackage
	// PathUnresolved holds an interpolation that cannot be expanded from the
	// file alone (for example %(DATABASE_DIR)s).
	PathUnresolved
)

// String returns the kind's name.
func (k PathKind) String() string {
	switch k {
	case PathRelative:
		return "relative"
	case PathHere:
		return "here"
	case PathAbsolute:
		return "absolute"
	case PathPackage:
		return "package"
	default:
		return "unresolved"
	}
}

// PathRef is one folder named by the ini file, resolved against the
// validated directory.
type PathRef struct {
	// Value is the entry as written, before interpolation.
	Value string
	// Kind says how Value is written.
	Kind PathKind
	// Dir is the folder relative to the validated directory (forward
	// slashes, cleaned, "." for the directory itself; it may start with
	// "../" when it points outside). For PathAbsolute it is the absolute
	// path inside the image; for PathPackage the first of Candidates; ""
	// for PathUnresolved.
	Dir string
	// CWDRelative reports that Dir assumes Alembic runs from the ini's
	// folder (a PathRelative entry): true of "alembic upgrade head" run
	// without -c next to alembic.ini, false when the release command
	// changes directory or passes -c another/alembic.ini.
	CWDRelative bool
	// Package and Resource split a PathPackage entry "pkg.sub:path/in" into
	// "pkg.sub" and "path/in".
	Package, Resource string
	// Candidates are, for a PathPackage entry, the folders the package may
	// live at relative to the validated directory, most likely first: the
	// ini's own folder when it is the package folder, then <pkg>/ and
	// src/<pkg>/ at the top.
	Candidates []string
}

// ScriptLocation is one section of the ini that sets script_location: the
// main section Alembic reads ([alembic] by default, another with
// "alembic -n NAME").
type ScriptLocation struct {
	// Section is the section's name (what "alembic -n" selects).
	Section string
	// Loc is the script_location key's position.
	Loc report.Location
	// PathRef is the resolved script_location.
	PathRef
	// SQLAlchemyURL is the section's sqlalchemy.url key (zero Key when
	// unset). Its Value may hold credentials: never print it.
	SQLAlchemyURL Key
	// VersionLocations are the version_locations entries, split as Alembic
	// splits them (path_separator, else version_path_separator, else
	// spaces and commas). Empty means <script_location>/versions.
	VersionLocations []PathRef
	// VersionLocationsLoc is the version_locations key's position (zero when
	// unset).
	VersionLocationsLoc report.Location
	// Recursive is recursive_version_locations = true.
	Recursive bool
	// FileTemplate is file_template after interpolation ("%%" read as "%"),
	// or Alembic's default "%(rev)s_%(slug)s" when unset.
	FileTemplate string
	// PrependSysPath are the prepend_sys_path entries as written, split as
	// Alembic splits them.
	PrependSysPath []string
}

// DefaultFileTemplate is the file_template Alembic uses when none is set.
const DefaultFileTemplate = "%(rev)s_%(slug)s"

// hereMark stands for %(here)s while resolving paths.
const hereMark = "\x00here\x00"

var (
	splitSpaceComma      = lazyre.New(`, *| +`)
	splitSpaceCommaColon = lazyre.New(`, *| +|:`)
)

// ScriptLocations returns every section that sets script_location (not only
// [alembic]: Netflix dispatch has [core] and [tenant]), each resolved as
// the package documentation describes. Each section's settings are read
// from that section and [DEFAULT] only, as "alembic -n <section>" reads
// them.
func (c *Config) ScriptLocations() []ScriptLocation {
	if c == nil {
		return nil
	}
	var out []ScriptLocation
	for i := range c.Sections {
		sec := &c.Sections[i]
		if sec.Name == DefaultSection {
			continue
		}
		k, ok := sec.Get("script_location")
		if !ok {
			continue
		}
		sl := ScriptLocation{Section: sec.Name, Loc: k.Loc, PathRef: c.resolve(sec.Name, k.Value), FileTemplate: DefaultFileTemplate}
		if u, ok := c.Get(sec.Name, "sqlalchemy.url"); ok {
			sl.SQLAlchemyURL = u
		}
		if ft, ok := c.Get(sec.Name, "file_template"); ok {
			if v, err := c.Expand(sec.Name, ft.Value, map[string]string{"here": path.Dir(c.Path)}); err == nil {
				sl.FileTemplate = v
			} else {
				sl.FileTemplate = ft.Value
			}
		}
		if r, ok := c.Get(sec.Name, "recursive_version_locations"); ok {
			sl.Recursive = c.value(sec.Name, r) == "true"
		}
		sep, hasSep := c.separator(sec.Name, "path_separator", "version_path_separator")
		if vl, ok := c.Get(sec.Name, "version_locations"); ok && vl.Value != "" {
			sl.VersionLocationsLoc = vl.Loc
			v := c.value(sec.Name, vl)
			var parts []string
			if hasSep {
				parts = strings.Split(v, sep)
			} else {
				parts = splitSpaceComma.Split(v, -1)
			}
			for _, p := range parts {
				if p = strings.TrimSpace(p); p != "" {
					sl.VersionLocations = append(sl.VersionLocations, c.resolve(sec.Name, p))
				}
			}
		}
		if sp, ok := c.Get(sec.Name, "prepend_sys_path"); ok && sp.Value != "" {
			v := c.value(sec.Name, sp)
			var parts []string
			if psep, ok := c.separator(sec.Name, "path_separator"); ok {
				parts = strings.Split(v, psep)
			} else {
				parts = splitSpaceCommaColon.Split(v, -1)
			}
			for _, p := range parts {
				if p = strings.TrimSpace(p); p != "" {
					sl.PrependSysPath = append(sl.PrependSysPath, p)
				}
			}
		}
		out = append(out, sl)
	}
	return out
}

// value returns k's value interpolated with %(here)s kept as written, or
// the raw value when it cannot be interpolated.
func (c *Config) value(section string, k Key) string {
	v, err := c.Expand(section, k.Value, map[string]string{"here": "%(here)s"})
	if err != nil {
		return k.Value
	}
	return v
}

// separator returns the split character of the first of names set in
// section, as Alembic's _get_file_separator_char does ("os" is ":" on the
// Linux machines Fly runs). An invalid value counts as unset (ParseINI
// reports it).
func (c *Config) separator(section string, names ...string) (string, bool) {
	for _, n := range names {
		if k, ok := c.Get(section, n); ok {
			sep, valid := separators[c.value(section, k)]
			return sep, valid
		}
	}
	return "", false
}

// resolve turns one path entry of section into a PathRef.
func (c *Config) resolve(section, raw string) PathRef {
	ref := PathRef{Value: raw}
	iniDir := path.Dir(c.Path)
	v, err := c.Expand(section, raw, map[string]string{"here": hereMark})
	if err != nil {
		ref.Kind = PathUnresolved
		return ref
	}
	if rest, ok := strings.CutPrefix(v, hereMark); ok {
		if strings.Contains(rest, hereMark) {
			ref.Kind = PathUnresolved
			return ref
		}
		ref.Kind = PathHere
		ref.Dir = path.Join(iniDir, strings.TrimLeft(rest, "/"))
		return ref
	}
	switch {
	case strings.Contains(v, hereMark):
		ref.Kind = PathUnresolved
	case strings.HasPrefix(v, "/"):
		ref.Kind = PathAbsolute
		ref.Dir = path.Clean(v)
	case strings.Contains(v, ":"):
		ref.Kind = PathPackage
		toks := strings.Split(v, ":")
		ref.Package = toks[0]
		ref.Resource = path.Join(toks[1:]...)
		pkgDir := strings.ReplaceAll(ref.Package, ".", "/")
		var cands []string
		if iniDir == pkgDir || strings.HasSuffix(iniDir, "/"+pkgDir) {
			cands = append(cands, path.Join(iniDir, ref.Resource))
		}
		cands = append(cands, path.Join(pkgDir, ref.Resource), path.Join("src", pkgDir, ref.Resource))
		seen := map[string]bool{}
		for _, d := range cands {
			if !seen[d] {
				seen[d] = true
				ref.Candidates = append(ref.Candidates, d)
			}
		}
		ref.Dir = ref.Candidates[0]
	default:
		ref.Kind = PathRelative
		ref.Dir = path.Join(iniDir, v)
		ref.CWDRelative = true
	}
	return ref
}
