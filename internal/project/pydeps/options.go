package pydeps

import (
	"fmt"
	"sort"
	"strings"

	"github.com/grupo-gad/deploy-action/internal/report"
)

// optSpec is one option pip accepts in a requirements file.
type optSpec struct {
	long, short string
	value       bool // takes an argument
}

// optSpecs are the options of pip's requirements-file line parser
// (SUPPORTED_OPTIONS and SUPPORTED_OPTIONS_REQ in pip/_internal/req/req_file.py).
var optSpecs = []optSpec{
	{"--index-url", "-i", true},
	{"--extra-index-url", "", true},
	{"--no-index", "", false},
	{"--constraint", "-c", true},
	{"--requirement", "-r", true},
	{"--editable", "-e", true},
	{"--find-links", "-f", true},
	{"--no-binary", "", true},
	{"--only-binary", "", true},
	{"--prefer-binary", "", false},
	{"--require-hashes", "", false},
	{"--pre", "", false},
	{"--trusted-host", "", true},
	{"--use-feature", "", true},
	{"--global-option", "", true},
	{"--hash", "", true},
	{"--config-settings", "-C", true},
}

// removedOpts are options older pips accepted in requirements files.
var removedOpts = map[string]string{
	"--install-option":           "it was removed in pip 23.1",
	"--build-option":             "it is only a command-line option",
	"--always-unzip":             "it was removed in pip 10",
	"--allow-external":           "it was removed in pip 10",
	"--allow-all-external":       "it was removed in pip 10",
	"--allow-unverified":         "it was removed in pip 10",
	"--process-dependency-links": "it was removed in pip 19",
	"--use-wheel":                "it was removed in pip 10",
	"--no-use-wheel":             "it was removed in pip 10",
}

// strongHashes are the algorithms pip accepts in --hash.
var strongHashes = map[string]int{"sha256": 64, "sha384": 96, "sha512": 128}

// parsedOpt is one option found on a line.
type parsedOpt struct {
	name     string // long form
	value    string
	pos      int // byte offset of the option in the logical line
	valuePos int // byte offset of its value
}

// shTok is one shell word with its byte offset.
type shTok struct {
	text string
	pos  int
}

// shlexSplit splits s into words as Python's shlex.split does (POSIX
// mode: quotes and backslash escapes).
func shlexSplit(s string) ([]shTok, *syntaxErr) {
	var toks []shTok
	var cur strings.Builder
	in := false
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			if in {
				toks = append(toks, shTok{cur.String(), start})
				cur.Reset()
				in = false
			}
		case c == '\'' || c == '"':
			if !in {
				in, start = true, i
			}
			end := -1
			for j := i + 1; j < len(s); j++ {
				if s[j] == c {
					end = j
					break
				}
				if c == '"' && s[j] == '\\' && j+1 < len(s) && (s[j+1] == '"' || s[j+1] == '\\') {
					cur.WriteByte(s[j+1])
					j++
					continue
				}
				cur.WriteByte(s[j])
			}
			if end < 0 {
				return toks, &syntaxErr{pos: i, msg: "no closing quotation", fix: "Close the quote."}
			}
			i = end
		case c == '\\':
			if !in {
				in, start = true, i
			}
			if i+1 >= len(s) {
				return toks, &syntaxErr{pos: i, msg: "no escaped character after \\", fix: "Remove the trailing backslash."}
			}
			cur.WriteByte(s[i+1])
			i++
		default:
			if !in {
				in, start = true, i
			}
			cur.WriteByte(c)
		}
	}
	if in {
		toks = append(toks, shTok{cur.String(), start})
	}
	return toks, nil
}

// matchLong finds the option named by a long option or an unambiguous
// prefix of one, as optparse does.
func matchLong(name string) (optSpec, []string) {
	var cands []optSpec
	for _, o := range optSpecs {
		if o.long == name {
			return o, nil
		}
		if strings.HasPrefix(o.long, name) {
			cands = append(cands, o)
		}
	}
	if len(cands) == 1 {
		return cands[0], nil
	}
	names := make([]string, len(cands))
	for i, c := range cands {
		names[i] = c.long
	}
	sort.Strings(names)
	return optSpec{}, names
}

func matchShort(c byte) (optSpec, bool) {
	for _, o := range optSpecs {
		if o.short != "" && o.short[1] == c {
			return o, true
		}
	}
	return optSpec{}, false
}

// options parses the options part s of a logical line, which starts at
// byte offset base, records them in the file and reports bad ones.
func (p *reqFile) options(ll *logicalLine, s string, base int) ([]parsedOpt, bool) {
	if s == "" {
		return nil, true
	}
	toks, serr := shlexSplit(s)
	if serr != nil {
		p.add(report.Error, p.loc(ll, base+serr.pos), "Options cannot be split",
			fmt.Sprintf("pip stops with \"Could not split options: %s\": %s.", RedactURL(s), serr.msg), serr.fix)
		return nil, false
	}
	var out []parsedOpt
	bad := func(pos int, title, msg, fix string) {
		p.add(report.Error, p.loc(ll, base+pos), title, msg, fix)
	}
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		switch {
		case t.text == "--":
			for _, r := range toks[i+1:] {
				p.leftover(ll, base+r.pos, r.text)
			}
			i = len(toks)
		case strings.HasPrefix(t.text, "--"):
			name, val, hasVal := strings.Cut(t.text, "=")
			spec, amb := matchLong(name)
			if spec.long == "" {
				p.unknownOption(ll, base+t.pos, name, amb)
				if hasVal || i+1 >= len(toks) || strings.HasPrefix(toks[i+1].text, "-") {
					continue
				}
				i++ // most unknown options take a value: skip it too
				continue
			}
			o := parsedOpt{name: spec.long, pos: base + t.pos}
			switch {
			case spec.value && hasVal:
				o.value, o.valuePos = val, base+t.pos+len(name)+1
			case spec.value && i+1 < len(toks):
				i++
				o.value, o.valuePos = toks[i].text, base+toks[i].pos
			case spec.value:
				bad(t.pos, "Option without its value", fmt.Sprintf("pip stops with \"%s option requires 1 argument\".", spec.long),
					fmt.Sprintf("Give %s its value, e.g. %s=VALUE.", spec.long, spec.long))
				continue
			case hasVal:
				bad(t.pos, "Option takes no value", fmt.Sprintf("pip stops with \"%s option does not take a value\".", spec.long),
					fmt.Sprintf("Write %s alone.", spec.long))
				continue
			}
			out = append(out, o)
		case strings.HasPrefix(t.text, "-") && len(t.text) > 1:
			spec, ok := matchShort(t.text[1])
			if !ok {
				p.unknownOption(ll, base+t.pos, t.text[:2], nil)
				continue
			}
			o := parsedOpt{name: spec.long, pos: base + t.pos}
			switch {
			case len(t.text) > 2:
				o.value, o.valuePos = t.text[2:], base+t.pos+2
			case i+1 < len(toks):
				i++
				o.value, o.valuePos = toks[i].text, base+toks[i].pos
			default:
				bad(t.pos, "Option without its value", fmt.Sprintf("pip stops with \"%s option requires 1 argument\".", t.text),
					fmt.Sprintf("Give %s its value, e.g. %s VALUE.", t.text, t.text))
				continue
			}
			out = append(out, o)
		default:
			p.leftover(ll, base+t.pos, t.text)
		}
	}
	for _, o := range out {
		p.f.Options = append(p.f.Options, Option{Name: o.name, Value: o.value, Loc: p.loc(ll, o.pos)})
		switch o.name {
		case "--hash":
			algo, digest, ok := strings.Cut(o.value, ":")
			if !ok || digest == "" {
				bad(o.pos-base, "Invalid --hash", fmt.Sprintf("pip stops with \"Arguments to --hash must be a hash name followed by a value, like --hash=sha256:abcde…\" (got %q).", o.value),
					"Write --hash=sha256:<hex digest>, as pip-compile --generate-hashes or pip hash print it.")
			} else if _, ok := strongHashes[algo]; !ok {
				bad(o.pos-base, "Invalid --hash", fmt.Sprintf("pip stops with \"Allowed hash algorithms for --hash are sha256, sha384, sha512\" (got %q).", algo),
					"Use a sha256 digest: pip hash <file> prints one.")
			}
		case "--no-binary":
			p.f.NoBinary = append(p.f.NoBinary, formatControlNames(o.value)...)
		case "--only-binary":
			p.f.OnlyBinary = append(p.f.OnlyBinary, formatControlNames(o.value)...)
		}
	}
	return out, true
}

// formatControlNames splits a --no-binary/--only-binary value.
func formatControlNames(v string) []string {
	var out []string
	for _, n := range strings.Split(v, ",") {
		n = strings.TrimSpace(n)
		switch {
		case n == "":
		case n == ":all:" || n == ":none:":
			out = append(out, n)
		default:
			out = append(out, Normalize(n))
		}
	}
	return out
}

func (p *reqFile) unknownOption(ll *logicalLine, pos int, name string, ambiguous []string) {
	if len(ambiguous) > 1 {
		p.add(report.Error, p.loc(ll, pos), "Ambiguous option",
			fmt.Sprintf("pip stops with \"ambiguous option: %s (%s?)\".", name, strings.Join(ambiguous, ", ")),
			"Write the option's full name.")
		return
	}
	msg := fmt.Sprintf("%s is not an option of pip's requirements-file format; current pip stops with \"no such option: %s\".", name, name)
	if why, ok := removedOpts[name]; ok {
		msg = fmt.Sprintf("%s is not accepted in a requirements file (%s); current pip stops with \"no such option: %s\".", name, why, name)
	}
	p.add(report.Warning, p.loc(ll, pos), "Unknown pip option", msg,
		"Remove the option from the file, or pass it on the pip install command line if your pip supports it.")
}

func (p *reqFile) leftover(ll *logicalLine, pos int, text string) {
	p.add(report.Warning, p.loc(ll, pos), "Text ignored by pip",
		fmt.Sprintf("pip ignores %q: it follows the options of the line, where pip expects only options.", RedactURL(text)),
		"Put each requirement on its own line, before its options.")
}
