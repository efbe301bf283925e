package action

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"strings"

	"github.com/grupo-gad/deploy-action/internal/lazyre"
)

// Output is one step output.
type Output struct {
	Name, Value string
}

var outputNameRE = lazyre.New(`^[A-Za-z_][A-Za-z0-9_-]*$`)

// WriteOutputs appends outputs to the file GITHUB_OUTPUT names, each in the
// multi-line form `name<<DELIM`, value, `DELIM`, with a fresh random
// delimiter that occurs in neither the name nor the value. A fixed delimiter
// (go-githubactions' SetOutput uses one) lets a value that contains it end
// the value early and set other outputs: values here come from repositories
// and APIs, so they are untrusted.
func WriteOutputs(file string, outs []Output) error {
	var b strings.Builder
	for _, o := range outs {
		if !outputNameRE.MatchString(o.Name) {
			return fmt.Errorf("output name %q is not valid", o.Name)
		}
		delim, err := delimiter(o.Name + "\n" + o.Value)
		if err != nil {
			return fmt.Errorf("output %s: %w", o.Name, err)
		}
		fmt.Fprintf(&b, "%s<<%s\n%s\n%s\n", o.Name, delim, o.Value, delim)
	}
	f, err := os.OpenFile(file, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("open GITHUB_OUTPUT: %w", err)
	}
	if _, err := f.WriteString(b.String()); err != nil {
		f.Close()
		return fmt.Errorf("write GITHUB_OUTPUT: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close GITHUB_OUTPUT: %w", err)
	}
	return nil
}

// delimiter returns "ghadelimiter_" and 32 random hex digits, drawn again
// in the (astronomically unlikely) case that text contains it.
func delimiter(text string) (string, error) {
	for range 8 {
		var buf [16]byte
		if _, err := rand.Read(buf[:]); err != nil {
			return "", fmt.Errorf("random delimiter: %w", err)
		}
		d := "ghadelimiter_" + hex.EncodeToString(buf[:])
		if !strings.Contains(text, d) {
			return d, nil
		}
	}
	return "", fmt.Errorf("could not draw a delimiter absent from the value")
}

// AppendFile appends text to the file at name (GITHUB_STEP_SUMMARY).
func AppendFile(name, text string) error {
	f, err := os.OpenFile(name, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("open %s: %w", name, err)
	}
	if _, err := f.WriteString(text); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", name, err)
	}
	return f.Close()
}
