// Package config reads a repository's bot configuration,
// .github/deploy-bot.yml, read from the default branch:
//
//	workflow: deploy.yml          # the workflow dispatched, in .github/workflows
//	default_environment: production
//	allow_forks: false            # refuse commands on pull requests from forks
//	commands: [deploy, rollback, secrets, status, health, help]
//	environments:
//	  production:
//	    app: grupo-gad            # the Fly app
//	    health_url: https://grupo-gad.fly.dev/health
//	    approvals: 1              # approving reviews needed before /deploy
//
// Every key is optional; Default is what an absent file means. Parse never
// fails on bad content: it returns the configuration it could read and a
// finding for each problem, at its line and column.
package config

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v4"

	"github.com/grupo-gad/deploy-action/internal/bot/command"
	"github.com/grupo-gad/deploy-action/internal/health"
	"github.com/grupo-gad/deploy-action/internal/report"
)

// Path is where the configuration lives in a repository.
const Path = ".github/deploy-bot.yml"

// MaxSize is the largest configuration file read, in bytes.
const MaxSize = 64 << 10

// The defaults of an absent file or key.
const (
	DefaultWorkflow    = "deploy.yml"
	DefaultEnvironment = "production"
	// DefaultCheckName is the check run the bot follows (the action's
	// default check-name).
	DefaultCheckName = "deploy-check"
	MaxApprovals     = 10
)

// Rule ids of the findings Parse returns.
const (
	RuleSyntax = "bot-config-syntax" // the file is not YAML, or not a mapping
	RuleKey    = "bot-config-key"    // an unknown or repeated key
	RuleValue  = "bot-config-value"  // a value of the wrong type or out of range
)

// Config is a repository's bot configuration.
type Config struct {
	// Workflow is the file name of the workflow dispatched, in
	// .github/workflows.
	Workflow string
	// DefaultEnvironment is the environment of a command that names none.
	DefaultEnvironment string
	// Environments maps environment names to their Fly app; empty means any
	// environment name is accepted and passed on to the workflow.
	Environments map[string]Environment
	// Commands are the commands allowed in this repository.
	Commands []command.Name
	// AllowForks lets commands run on pull requests from forks.
	AllowForks bool
}

// Environment is one deploy target.
type Environment struct {
	// App is the Fly app ("" when not configured).
	App string
	// HealthURL is the URL /health probes ("" means https://APP.fly.dev/health
	// when App is set).
	HealthURL string
	// Approvals is how many approving reviews a pull request needs before
	// /deploy or /rollback runs on this environment.
	Approvals int
}

// Default is the configuration of a repository without the file.
func Default() *Config {
	return &Config{
		Workflow:           DefaultWorkflow,
		DefaultEnvironment: DefaultEnvironment,
		Environments:       map[string]Environment{},
		Commands:           slices.Clone(command.Names),
	}
}

// Allows reports whether the repository allows the command. /help is always
// allowed.
func (c *Config) Allows(n command.Name) bool {
	return n == command.Help || slices.Contains(c.Commands, n)
}

// EnvironmentNames returns the configured environment names, sorted.
func (c *Config) EnvironmentNames() []string {
	names := make([]string, 0, len(c.Environments))
	for n := range c.Environments {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// ErrUnknownEnvironment is returned by Resolve for an environment the file
// does not list.
var ErrUnknownEnvironment = errors.New("unknown environment")

// Resolve returns the environment a command acts on: name, or the default
// environment when name is "". When the file lists environments, the name
// must be one of them.
func (c *Config) Resolve(name string) (string, Environment, error) {
	if name == "" {
		name = c.DefaultEnvironment
	}
	if len(c.Environments) == 0 {
		return name, Environment{}, nil
	}
	env, ok := c.Environments[name]
	if !ok {
		return name, Environment{}, fmt.Errorf("%w %q: %s lists %s", ErrUnknownEnvironment, name, Path, strings.Join(c.EnvironmentNames(), ", "))
	}
	return name, env, nil
}

// URL is the URL /health probes for e: its health_url, else
// https://APP.fly.dev/health, else "".
func (e Environment) URL() string {
	switch {
	case e.HealthURL != "":
		return e.HealthURL
	case e.App != "":
		return "https://" + e.App + ".fly.dev/health"
	}
	return ""
}

var (
	workflowRE = regexp.MustCompile(`^[A-Za-z0-9_.-]+\.ya?ml$`)
	appRE      = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)
)

// parser collects findings while walking the YAML tree.
type parser struct {
	findings []report.Finding
}

func (p *parser) add(rule string, n *yaml.Node, msg, fix string) {
	loc := report.Location{File: Path}
	if n != nil {
		loc = report.At(Path, n.Line, n.Column)
	}
	title := "Invalid bot configuration"
	if rule == RuleKey {
		title = "Unknown key in the bot configuration"
	}
	p.findings = append(p.findings, report.Finding{Rule: rule, Severity: report.Error, Location: loc, Title: title, Message: msg, Fix: fix})
}

// Parse reads the file's content. It returns the configuration (the
// defaults where a key is absent or wrong) and a finding per problem.
func Parse(data []byte) (*Config, []report.Finding) {
	c := Default()
	p := &parser{}
	if len(data) > MaxSize {
		p.add(RuleSyntax, nil, fmt.Sprintf("The file is %d bytes; the bot reads at most %d.", len(data), MaxSize), "Keep the bot configuration short: workflow, environments and a few switches.")
		return c, p.findings
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		n := &yaml.Node{Line: 1, Column: 1}
		var le *yaml.LoadError
		if errors.As(err, &le) && le.Mark.Line > 0 {
			n.Line, n.Column = le.Mark.Line, max(le.Mark.Column, 1)
		}
		p.add(RuleSyntax, n, "The file is not valid YAML: "+yamlMessage(err)+".", "Fix the YAML syntax (indentation, a missing colon or quote) at this line.")
		return c, p.findings
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return c, nil // empty file: the defaults
	}
	root := resolve(doc.Content[0])
	if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
		return c, nil
	}
	if root.Kind != yaml.MappingNode {
		p.add(RuleSyntax, root, "The file must be a mapping of keys (workflow, environments, ...), not a "+kindName(root)+".", "Start the file with `workflow: deploy.yml` and the other keys at the top level.")
		return c, p.findings
	}
	p.mapping(root, func(key string, k, v *yaml.Node) {
		switch key {
		case "workflow":
			if s, ok := p.str(v, "workflow"); ok {
				s = strings.TrimPrefix(s, ".github/workflows/")
				if !workflowRE.MatchString(s) {
					p.add(RuleValue, v, fmt.Sprintf("`workflow: %s` is not a workflow file name.", s), "Name the file in .github/workflows, e.g. `workflow: deploy.yml`.")
				} else {
					c.Workflow = s
				}
			}
		case "default_environment":
			if s, ok := p.str(v, key); ok {
				if !command.ValidEnvironment(s) {
					p.add(RuleValue, v, fmt.Sprintf("%q is not an environment name.", s), "Use letters, digits, '.', '_' and '-', e.g. `production`.")
				} else {
					c.DefaultEnvironment = s
				}
			}
		case "allow_forks":
			if b, ok := p.boolean(v, key); ok {
				c.AllowForks = b
			}
		case "commands":
			p.commands(c, v)
		case "environments":
			p.environments(c, v)
		default:
			p.add(RuleKey, k, fmt.Sprintf("`%s` is not a key of the bot configuration.", key), "Use workflow, default_environment, environments, commands or allow_forks.")
		}
	})
	if len(c.Environments) > 0 {
		if _, ok := c.Environments[c.DefaultEnvironment]; !ok {
			n := findKey(root, "default_environment")
			if n == nil {
				n = findKey(root, "environments")
			}
			p.add(RuleValue, n, fmt.Sprintf("The default environment %q is not one of the environments listed (%s).", c.DefaultEnvironment, strings.Join(c.EnvironmentNames(), ", ")),
				"Set `default_environment:` to one of the environments, or add it under `environments:`.")
		}
	}
	return c, p.findings
}

func (p *parser) commands(c *Config, v *yaml.Node) {
	v = resolve(v)
	if v.Kind != yaml.SequenceNode {
		p.add(RuleValue, v, "`commands` must be a list, e.g. `[deploy, status, health, help]`.", "Write the allowed commands as a YAML list.")
		return
	}
	var names []command.Name
	for _, item := range v.Content {
		s, ok := p.str(item, "a command")
		if !ok {
			continue
		}
		n := command.Name(strings.ToLower(strings.TrimPrefix(s, "/")))
		if !n.Known() {
			p.add(RuleValue, item, fmt.Sprintf("%q is not a command of the bot.", s), "Use deploy, rollback, secrets, status, health or help.")
			continue
		}
		if !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	c.Commands = names
}

func (p *parser) environments(c *Config, v *yaml.Node) {
	v = resolve(v)
	if v.Kind == yaml.ScalarNode && v.Tag == "!!null" {
		return
	}
	if v.Kind != yaml.MappingNode {
		p.add(RuleValue, v, "`environments` must map environment names to their settings.", "Write `environments:` then, indented, `production:` with `app:` and `health_url:` under it.")
		return
	}
	p.mapping(v, func(name string, k, ev *yaml.Node) {
		if !command.ValidEnvironment(name) {
			p.add(RuleValue, k, fmt.Sprintf("%q is not an environment name.", name), "Use letters, digits, '.', '_' and '-', e.g. `staging`.")
			return
		}
		env := Environment{}
		ev = resolve(ev)
		if !(ev.Kind == yaml.ScalarNode && ev.Tag == "!!null") {
			if ev.Kind != yaml.MappingNode {
				p.add(RuleValue, ev, fmt.Sprintf("The settings of environment %q must be a mapping (app, health_url, approvals).", name), "Indent `app:` and `health_url:` under the environment's name.")
				return
			}
			p.mapping(ev, func(key string, kk, vv *yaml.Node) {
				switch key {
				case "app":
					if s, ok := p.str(vv, key); ok {
						if !appRE.MatchString(s) {
							p.add(RuleValue, vv, fmt.Sprintf("%q is not a Fly app name.", s), "Fly app names are lower-case letters, digits and '-', as in fly.toml's `app`.")
						} else {
							env.App = s
						}
					}
				case "health_url":
					if s, ok := p.str(vv, key); ok {
						if _, err := health.CheckURL(s, "http", "https"); err != nil {
							p.add(RuleValue, vv, fmt.Sprintf("`health_url` is not usable: %v.", err), "Give an absolute http:// or https:// URL, e.g. https://my-app.fly.dev/health.")
						} else {
							env.HealthURL = s
						}
					}
				case "approvals":
					vv = resolve(vv)
					n, err := strconv.Atoi(vv.Value)
					if vv.Kind != yaml.ScalarNode || vv.Tag != "!!int" || err != nil || n < 0 || n > MaxApprovals {
						p.add(RuleValue, vv, fmt.Sprintf("`approvals` must be a whole number from 0 to %d.", MaxApprovals), "Write how many approving reviews a pull request needs, e.g. `approvals: 1`.")
					} else {
						env.Approvals = n
					}
				default:
					p.add(RuleKey, kk, fmt.Sprintf("`%s` is not a setting of an environment.", key), "Use app, health_url or approvals.")
				}
			})
		}
		c.Environments[name] = env
	})
}

// mapping calls f for each key of a mapping node, reporting repeated and
// non-scalar keys.
func (p *parser) mapping(m *yaml.Node, f func(key string, k, v *yaml.Node)) {
	seen := map[string]bool{}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := resolve(m.Content[i]), m.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			p.add(RuleKey, k, "A key must be a plain word.", "Write keys as plain words followed by a colon.")
			continue
		}
		if k.Tag == "!!merge" {
			p.add(RuleKey, k, "Merge keys (`<<`) are not supported in the bot configuration.", "Write the settings out in full.")
			continue
		}
		if seen[k.Value] {
			p.add(RuleKey, k, fmt.Sprintf("`%s` is given twice.", k.Value), "Keep one of them.")
			continue
		}
		seen[k.Value] = true
		f(k.Value, k, v)
	}
}

func (p *parser) str(v *yaml.Node, key string) (string, bool) {
	v = resolve(v)
	if v.Kind != yaml.ScalarNode || v.Tag == "!!null" {
		p.add(RuleValue, v, fmt.Sprintf("`%s` must be a single value, not a %s.", key, kindName(v)), "Write one value on the same line as the key.")
		return "", false
	}
	return strings.TrimSpace(v.Value), true
}

func (p *parser) boolean(v *yaml.Node, key string) (bool, bool) {
	v = resolve(v)
	if v.Kind == yaml.ScalarNode && v.Tag == "!!bool" {
		b, err := strconv.ParseBool(strings.ToLower(v.Value))
		if err == nil {
			return b, true
		}
	}
	p.add(RuleValue, v, fmt.Sprintf("`%s` must be true or false.", key), fmt.Sprintf("Write `%s: true` or `%s: false`.", key, key))
	return false, false
}

// resolve follows an alias to the node it names.
func resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && n.Alias != nil && i < 8; i++ {
		n = n.Alias
	}
	if n == nil {
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null"}
	}
	return n
}

func findKey(m *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "list"
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return "empty value"
		}
		return "single value"
	}
	return "YAML node"
}

// yamlMessage is the YAML library's message without its position prefix.
func yamlMessage(err error) string {
	var le *yaml.LoadError
	if errors.As(err, &le) && le.Message != "" {
		return le.Message
	}
	msg := err.Error()
	if i := strings.LastIndex(msg, ": "); i >= 0 {
		msg = msg[i+2:]
	}
	return msg
}
