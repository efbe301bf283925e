package action

import (
	"sort"
	"strings"

	"github.com/sethvargo/go-githubactions"

	"github.com/grupo-gad/deploy-action/internal/secretscan"
)

// minMaskLen is the shortest value masked. GitHub replaces every occurrence
// of a masked value in the log; a one- to three-character value ("1",
// "yes") would star out line numbers and words all over it while protecting
// nothing.
const minMaskLen = 4

// Masker knows the secret values the action has seen: it asks GitHub to
// mask them in the log and scrubs them from what the action sends elsewhere
// (check run output, annotations, the step summary), which GitHub does not
// mask.
type Masker struct {
	values []string // longest first
}

// NewMasker collects the secrets: the token inputs, and the value of every
// environment variable (NAME=value entries, as os.Environ gives them) whose
// name looks like a secret's (secretscan.LooksSecretName: GITHUB_TOKEN,
// FLY_API_TOKEN, INPUT_FLY-API-TOKEN, SECRET_KEY, DATABASE_PASSWORD, ...).
// A multi-line value is masked line by line, since the log is.
func NewMasker(in Inputs, environ []string) *Masker {
	seen := map[string]bool{}
	m := &Masker{}
	add := func(v string) {
		for _, line := range strings.Split(v, "\n") {
			line = strings.TrimSpace(strings.TrimSuffix(line, "\r"))
			if len(line) < minMaskLen || seen[line] {
				continue
			}
			seen[line] = true
			m.values = append(m.values, line)
		}
	}
	add(in.GitHubToken)
	add(in.FlyAPIToken)
	for _, kv := range environ {
		name, value, ok := strings.Cut(kv, "=")
		if ok && secretscan.LooksSecretName(name) {
			add(value)
		}
	}
	sort.SliceStable(m.values, func(i, j int) bool { return len(m.values[i]) > len(m.values[j]) })
	return m
}

// Len is how many values are masked.
func (m *Masker) Len() int { return len(m.values) }

// Announce issues `::add-mask::` for each value; it must run before the
// action prints anything else.
func (m *Masker) Announce(a *githubactions.Action) {
	for _, v := range m.values {
		a.AddMask(v)
	}
}

// Scrub replaces every masked value in s with "***".
func (m *Masker) Scrub(s string) string {
	for _, v := range m.values {
		if strings.Contains(s, v) {
			s = strings.ReplaceAll(s, v, "***")
		}
	}
	return s
}
