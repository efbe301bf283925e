package action_test

import (
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v4"

	"github.com/grupo-gad/deploy-action/internal/project/dockerfile"
	"github.com/grupo-gad/deploy-action/internal/testutil"
)

// maxBinaryBytes is the size budget of the stripped action binary.
const maxBinaryBytes = 20 << 20

// parseDockerfile reads the action's Dockerfile with the project's own
// parser.
func parseDockerfile(t *testing.T) *dockerfile.File {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(testutil.RepoRoot(t), "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	f, problems := dockerfile.Parse("Dockerfile", data)
	for _, p := range problems {
		t.Errorf("Dockerfile:%d: %s", p.Line, p.Message)
	}
	if len(f.Stages) < 2 {
		t.Fatalf("the Dockerfile has %d stages, want a build stage and a final one", len(f.Stages))
	}
	return f
}

// goBuild returns the build stage's `go build` argv.
func goBuild(t *testing.T, f *dockerfile.File) (*dockerfile.Stage, []string) {
	t.Helper()
	for _, s := range f.Stages {
		for _, r := range s.Runs {
			for _, c := range r.Commands {
				if len(c.Args) > 1 && c.Args[0] == "go" && c.Args[1] == "build" {
					return s, c.Args
				}
			}
		}
	}
	t.Fatal("no RUN go build in the Dockerfile")
	return nil, nil
}

func TestDockerfile(t *testing.T) {
	f := parseDockerfile(t)
	final := f.Final()
	build, argv := goBuild(t, f)

	t.Run("final stage is a static base", func(t *testing.T) {
		img := final.Image
		static := final.Base == "scratch" || (img.Registry == "gcr.io" && strings.HasPrefix(img.Repository, "distroless/static"))
		if !static {
			t.Errorf("final stage FROM %s: want gcr.io/distroless/static* or scratch", final.Base)
		}
		if final.Base == "scratch" {
			t.Errorf("scratch has no CA certificates: copy them in, or use distroless/static")
		}
	})
	t.Run("final stage runs as the default user", func(t *testing.T) {
		// GitHub runs container actions as the image's user; only root can
		// write GITHUB_OUTPUT, GITHUB_STEP_SUMMARY and the workspace.
		if u := final.EffectiveUser(); u != "" && u != "root" && u != "0" && u != "0:0" {
			t.Errorf("final stage USER %s (line %d): the action could not write its outputs", u, final.UserLoc.Line)
		}
	})
	t.Run("final stage holds only the binary", func(t *testing.T) {
		if len(final.Runs) > 0 {
			t.Errorf("final stage has RUN instructions: a static base has no shell")
		}
		if len(final.Copies) != 1 || f.Stage(final.Copies[0].From) != build {
			t.Fatalf("final stage copies %+v, want one COPY --from=%s", final.Copies, build.Name)
		}
		ep := final.EffectiveEntrypoint()
		if ep == nil || !ep.Exec || len(ep.Argv) != 1 || ep.Argv[0] != final.Copies[0].Dest {
			t.Errorf("ENTRYPOINT %+v, want the exec form [%q] with no arguments (GitHub mode)", ep, final.Copies[0].Dest)
		}
	})
	t.Run("static build flags", func(t *testing.T) {
		env := map[string]string{}
		for _, e := range build.EffectiveEnv() {
			env[e.Name] = e.Value
		}
		if env["CGO_ENABLED"] != "0" {
			t.Errorf("build stage: CGO_ENABLED=%q, want 0 (a static binary)", env["CGO_ENABLED"])
		}
		if !slices.Contains(argv, "-trimpath") {
			t.Errorf("go build without -trimpath: %q", argv)
		}
		if fl := ldflags(argv); !slices.Contains(strings.Fields(fl), "-s") || !slices.Contains(strings.Fields(fl), "-w") {
			t.Errorf("go build -ldflags %q: want -s -w (stripped)", fl)
		}
	})
	t.Run("build stage uses go.mod's Go and cross-compiles", func(t *testing.T) {
		gomod, _ := os.ReadFile(filepath.Join(testutil.RepoRoot(t), "go.mod"))
		m := regexp.MustCompile(`(?m)^go (\S+)`).FindSubmatch(gomod)
		if m == nil || build.Image.Repository != "library/golang" || !strings.HasPrefix(build.Image.Tag, string(m[1])) {
			t.Errorf("build stage FROM %s, want golang:%s", build.BaseResolved, m[1])
		}
		if build.Platform != "$BUILDPLATFORM" {
			t.Errorf("build stage --platform=%q, want $BUILDPLATFORM (no emulation in multi-arch builds)", build.Platform)
		}
	})
}

// ldflags returns the value of -ldflags in a go build argv.
func ldflags(argv []string) string {
	for i, a := range argv {
		if v, ok := strings.CutPrefix(a, "-ldflags="); ok {
			return v
		}
		if a == "-ldflags" && i+1 < len(argv) {
			return argv[i+1]
		}
	}
	return ""
}

// TestImageBinary builds cmd/action with the Dockerfile's own flags and
// checks it is static, within its size budget, and enters GitHub mode when
// started with no arguments as the ENTRYPOINT does.
func TestImageBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	_, argv := goBuild(t, parseDockerfile(t))
	root := testutil.RepoRoot(t)
	out := filepath.Join(t.TempDir(), "deploy-action")
	args := []string{"build"}
	for i := 2; i < len(argv); i++ {
		switch {
		case argv[i] == "-o":
			i++ // our own output path instead
		case strings.HasPrefix(argv[i], "./"):
			// the package, added last
		default:
			args = append(args, argv[i])
		}
	}
	args = append(args, "-o", out, "./cmd/action")
	cmd := exec.Command("go", args...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+runtime.GOARCH, "GOFLAGS=-buildvcs=false")
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, msg)
	}

	f, err := elf.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Errorf("the binary has a program interpreter: it is dynamically linked")
		}
	}
	if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
		t.Errorf("the binary needs shared libraries %v", libs)
	}
	if f.Section(".symtab") != nil {
		t.Errorf("the binary keeps its symbol table: -s did not apply")
	}
	st, _ := os.Stat(out)
	t.Logf("stripped binary: %.1f MB", float64(st.Size())/(1<<20))
	if st.Size() > maxBinaryBytes {
		t.Errorf("binary is %d bytes, budget %d", st.Size(), maxBinaryBytes)
	}

	// The ENTRYPOINT passes no argument: GitHub mode.
	ws := t.TempDir()
	if err := os.CopyFS(ws, os.DirFS(filepath.Join(root, "examples", "broken", "build-pg-config"))); err != nil {
		t.Fatal(err)
	}
	run := exec.Command(out)
	run.Dir = ws
	run.Env = []string{"GITHUB_ACTIONS=true", "GITHUB_WORKSPACE=" + ws, "INPUT_COMMAND=validate"}
	log, err := run.Output()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Fatalf("GitHub mode on a broken example: %v, want exit 1\n%s", err, log)
	}
	if !strings.Contains(string(log), "::error file=Dockerfile,line=7") {
		t.Errorf("GitHub mode did not annotate Dockerfile:7:\n%s", log)
	}
}

// TestActionYAML holds action.yml to what GitHub mode reads and writes.
func TestActionYAML(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(testutil.RepoRoot(t), "action.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var meta struct {
		Name     string
		Branding map[string]string
		Inputs   map[string]struct {
			Description string
			Default     string
		}
		Outputs map[string]struct{ Description string }
		Runs    struct{ Using, Image string }
	}
	if err := yaml.Unmarshal(data, &meta); err != nil {
		t.Fatal(err)
	}
	if meta.Runs.Using != "docker" || meta.Runs.Image != "Dockerfile" {
		t.Errorf("runs: %+v, want docker with image Dockerfile on main (release.yml pins a digest on tags)", meta.Runs)
	}
	if meta.Branding["icon"] == "" || meta.Branding["color"] == "" {
		t.Errorf("no branding")
	}
	wantInputs := map[string]string{
		"command": "validate", "working-directory": "", "config": "", "app": "", "image": "",
		"environment": "", "sha": "", "fly-api-token": "", "github-token": "${{ github.token }}",
		"health-url": "", "fail-on": "error", "check-name": "deploy-check",
	}
	for name, def := range wantInputs {
		in, ok := meta.Inputs[name]
		switch {
		case !ok:
			t.Errorf("input %s is missing", name)
		case in.Default != def:
			t.Errorf("input %s default %q, want %q", name, in.Default, def)
		case in.Description == "":
			t.Errorf("input %s has no description", name)
		}
	}
	for name := range meta.Inputs {
		if _, ok := wantInputs[name]; !ok {
			t.Errorf("input %s is not read by GitHub mode", name)
		}
	}
	wantOutputs := []string{"conclusion", "report", "errors", "warnings", "url", "release", "image"}
	for _, name := range wantOutputs {
		if meta.Outputs[name].Description == "" {
			t.Errorf("output %s is missing or undocumented", name)
		}
	}
	if len(meta.Outputs) != len(wantOutputs) {
		t.Errorf("%d outputs, want %d", len(meta.Outputs), len(wantOutputs))
	}
}
