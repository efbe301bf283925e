package pydeps

import (
	"bytes"
	"fmt"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/grupo-gad/deploy-action/internal/lazyre"
	"github.com/grupo-gad/deploy-action/internal/report"
)

// Encodings decodeText recognises.
const (
	encUTF8    = "UTF-8"
	encUTF8BOM = "UTF-8 with BOM"
	encUTF16LE = "UTF-16 LE"
	encUTF16BE = "UTF-16 BE"
	encUTF32LE = "UTF-32 LE"
	encUTF32BE = "UTF-32 BE"
	encLatin1  = "Latin-1"
)

// codingRE finds a PEP 263 encoding declaration, which pip honours in the
// first two lines of a requirements file without a byte-order mark.
var codingRE = lazyre.New(`^#.*coding[:=]\s*([-\w.]+)`)

// decodeText decodes a requirements file the way pip does: a byte-order
// mark (UTF-8, UTF-16, UTF-32) decides the encoding; else a PEP 263
// "coding:" comment in the first two lines; else UTF-8 (the locale of
// Python's Docker images). Bytes that do not decode become U+FFFD and an
// error finding.
func decodeText(relPath string, data []byte) (string, string, []report.Finding) {
	switch {
	case bytes.HasPrefix(data, []byte{0xFF, 0xFE, 0, 0}):
		return decodeUTF32(relPath, data[4:], false)
	case bytes.HasPrefix(data, []byte{0, 0, 0xFE, 0xFF}):
		return decodeUTF32(relPath, data[4:], true)
	case bytes.HasPrefix(data, []byte{0xEF, 0xBB, 0xBF}):
		s, fs := decodeUTF8(relPath, data[3:])
		return s, encUTF8BOM, fs
	case bytes.HasPrefix(data, []byte{0xFF, 0xFE}):
		return decodeUTF16(relPath, data[2:], false)
	case bytes.HasPrefix(data, []byte{0xFE, 0xFF}):
		return decodeUTF16(relPath, data[2:], true)
	}
	if enc := declaredEncoding(data); enc == encLatin1 {
		r := make([]rune, len(data))
		for i, b := range data {
			r[i] = rune(b)
		}
		return string(r), encLatin1, nil
	}
	if looksUTF16(data) {
		s := string(bytes.ReplaceAll(data, []byte{0}, nil))
		return s, encUTF8, []report.Finding{finding(RuleRequirementsSyntax, report.Error, report.At(relPath, 1, 1),
			"Requirements file is UTF-16 without a byte-order mark",
			"The file looks like UTF-16 (every other byte is zero) but has no byte-order mark, so pip reads it as UTF-8 and fails on the zero bytes.",
			"Save the file as UTF-8 (for example: pip freeze | Out-File -Encoding utf8 requirements.txt in PowerShell).")}
	}
	s, fs := decodeUTF8(relPath, data)
	return s, encUTF8, fs
}

// declaredEncoding returns encLatin1 when a coding comment in the first two
// lines names a single-byte Western encoding, else "".
func declaredEncoding(data []byte) string {
	lines := bytes.SplitN(data, []byte("\n"), 3)
	if len(lines) > 2 {
		lines = lines[:2]
	}
	for _, l := range lines {
		m := codingRE.FindSubmatch(bytes.TrimRight(l, "\r"))
		if m == nil {
			continue
		}
		switch strings.ToLower(strings.ReplaceAll(string(m[1]), "_", "-")) {
		case "latin-1", "latin1", "iso-8859-1", "iso8859-1", "l1", "cp1252", "windows-1252":
			return encLatin1
		}
		return ""
	}
	return ""
}

// looksUTF16 reports whether data is probably UTF-16 text without a BOM:
// many zero bytes, nearly all on one parity.
func looksUTF16(data []byte) bool {
	if len(data) < 4 {
		return false
	}
	var even, odd int
	for i, b := range data {
		if b == 0 {
			if i%2 == 0 {
				even++
			} else {
				odd++
			}
		}
	}
	half := len(data) / 2
	return even > half*3/4 || odd > half*3/4
}

// decodeUTF8 returns data as a string, replacing invalid bytes with U+FFFD
// and reporting the first line that has some.
func decodeUTF8(relPath string, data []byte) (string, []report.Finding) {
	if utf8.Valid(data) {
		return string(data), nil
	}
	line, col := 1, 1
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		if r == utf8.RuneError && size <= 1 {
			break
		}
		if r == '\n' {
			line++
			col = 1
		} else {
			col++
		}
		i += size
	}
	f := finding(RuleRequirementsSyntax, report.Error, report.At(relPath, line, col),
		"Requirements file is not UTF-8",
		fmt.Sprintf("Line %d has bytes that are not UTF-8. pip reads a requirements file without a byte-order mark as UTF-8 and stops with a UnicodeDecodeError.", line),
		"Save the file as UTF-8, or declare its encoding in a first-line comment (# -*- coding: latin-1 -*-).")
	return strings.ToValidUTF8(string(data), "\uFFFD"), []report.Finding{f}
}

func decodeUTF16(relPath string, data []byte, bigEndian bool) (string, string, []report.Finding) {
	enc := encUTF16LE
	if bigEndian {
		enc = encUTF16BE
	}
	var fs []report.Finding
	if len(data)%2 != 0 {
		data = data[:len(data)-1]
		fs = append(fs, finding(RuleRequirementsSyntax, report.Error, report.Location{File: relPath},
			"Requirements file ends in the middle of a character",
			"The file is "+enc+" (it starts with that byte-order mark) but has an odd number of bytes, so pip cannot decode its end.",
			"Save the file again, preferably as UTF-8."))
	}
	u := make([]uint16, len(data)/2)
	for i := range u {
		if bigEndian {
			u[i] = uint16(data[2*i])<<8 | uint16(data[2*i+1])
		} else {
			u[i] = uint16(data[2*i+1])<<8 | uint16(data[2*i])
		}
	}
	return string(utf16.Decode(u)), enc, fs
}

func decodeUTF32(relPath string, data []byte, bigEndian bool) (string, string, []report.Finding) {
	enc := encUTF32LE
	if bigEndian {
		enc = encUTF32BE
	}
	var fs []report.Finding
	if len(data)%4 != 0 {
		data = data[:len(data)-len(data)%4]
		fs = append(fs, finding(RuleRequirementsSyntax, report.Error, report.Location{File: relPath},
			"Requirements file ends in the middle of a character",
			"The file is "+enc+" (it starts with that byte-order mark) but its length is not a multiple of 4 bytes, so pip cannot decode its end.",
			"Save the file again, preferably as UTF-8."))
	}
	r := make([]rune, len(data)/4)
	for i := range r {
		b := data[4*i : 4*i+4]
		if bigEndian {
			r[i] = rune(uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3]))
		} else {
			r[i] = rune(uint32(b[3])<<24 | uint32(b[2])<<16 | uint32(b[1])<<8 | uint32(b[0]))
		}
		if !utf8.ValidRune(r[i]) {
			r[i] = utf8.RuneError
		}
	}
	return string(r), enc, fs
}

// physLine is one physical line of a text: its 1-based number and its
// content without the line break.
type physLine struct {
	num  int
	text string
}

// splitLines splits text on \n, \r\n and \r.
func splitLines(text string) []physLine {
	var out []physLine
	n := 1
	for len(text) > 0 {
		i := strings.IndexAny(text, "\r\n")
		if i < 0 {
			out = append(out, physLine{n, text})
			break
		}
		out = append(out, physLine{n, text[:i]})
		if text[i] == '\r' && i+1 < len(text) && text[i+1] == '\n' {
			i++
		}
		text = text[i+1:]
		n++
	}
	return out
}

// DecodeText decodes the bytes of a requirements file as pip does: a
// byte-order mark selects UTF-8, UTF-16 or UTF-32; else a PEP 263 coding
// comment in the first two lines; else UTF-8, with invalid bytes replaced
// by U+FFFD. Use it to show a line of a UTF-16 file (PowerShell's
// "pip freeze >" writes those).
func DecodeText(data []byte) string {
	s, _, _ := decodeText("", data)
	return s
}
