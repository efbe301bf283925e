package project

import (
	"bytes"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// DecodeText returns data as UTF-8 text: a UTF-8 byte-order mark is dropped
// and UTF-16 (LE or BE, with a byte-order mark, as PowerShell's `pip freeze >`
// writes) is converted. Other bytes are returned as they are.
func DecodeText(data []byte) []byte {
	switch {
	case bytes.HasPrefix(data, []byte{0xEF, 0xBB, 0xBF}):
		return data[3:]
	case bytes.HasPrefix(data, []byte{0xFF, 0xFE}):
		return decodeUTF16(data[2:], false)
	case bytes.HasPrefix(data, []byte{0xFE, 0xFF}):
		return decodeUTF16(data[2:], true)
	}
	return data
}

func decodeUTF16(b []byte, bigEndian bool) []byte {
	u := make([]uint16, 0, len(b)/2)
	for i := 0; i+1 < len(b); i += 2 {
		if bigEndian {
			u = append(u, uint16(b[i])<<8|uint16(b[i+1]))
		} else {
			u = append(u, uint16(b[i+1])<<8|uint16(b[i]))
		}
	}
	var out bytes.Buffer
	out.Grow(len(u))
	for _, r := range utf16.Decode(u) {
		out.WriteRune(r)
	}
	return out.Bytes()
}

// isText reports whether data looks like text: valid UTF-8 (after decoding)
// with no NUL byte in its first 8 KiB.
func isText(data []byte) bool {
	head := data
	if len(head) > 8192 {
		head = head[:8192]
	}
	if bytes.IndexByte(head, 0) >= 0 {
		return false
	}
	// A cut in the middle of a rune at the 8 KiB mark is fine.
	for len(head) > 0 {
		r, size := utf8.DecodeRune(head)
		if r == utf8.RuneError && size == 1 && len(head) > 3 {
			return false
		}
		head = head[size:]
	}
	return true
}

// splitLines splits text into lines without their line endings (\n or \r\n).
func splitLines(text []byte) []string {
	s := string(text)
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimSuffix(l, "\r")
	}
	return lines
}
