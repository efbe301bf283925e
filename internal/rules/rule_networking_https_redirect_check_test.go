package rules

import (
	"strings"
	"testing"

	"github.com/grupo-gad/deploy-action/internal/report"
)

func TestNetworkingHTTPSRedirectCheck(t *testing.T) {
	check := func(extra string) string {
		return testFly + "  force_https = true\n\n  [[http_service.checks]]\n    path = \"/health\"\n" + extra
	}
	starlette := "from fastapi import FastAPI\nfrom starlette.middleware.httpsredirect import HTTPSRedirectMiddleware\n\napp = FastAPI()\napp.add_middleware(HTTPSRedirectMiddleware)\n"
	tests := []struct {
		name  string
		files map[string]string
		want  string
	}{
		{"header in any case", map[string]string{"fly.toml": check("\n    [http_service.checks.headers]\n      x-forwarded-proto = \"https\"\n"), "app/main.py": starlette}, ""},
		{"header with another value", map[string]string{"fly.toml": check("\n    [http_service.checks.headers]\n      X-Forwarded-Proto = \"http\"\n"), "app/main.py": starlette}, "app/main.py:5 error"},
		{"https check", map[string]string{"fly.toml": check("    protocol = \"https\"\n    tls_skip_verify = true\n"), "app/main.py": starlette}, ""},
		{"no check at all", map[string]string{"fly.toml": testFly + "  force_https = true\n", "app/main.py": starlette}, ""},
		{"talisman", map[string]string{"fly.toml": check(""), "app/__init__.py": "import os\nfrom flask import Flask\nfrom flask_talisman import Talisman\n\napp = Flask(__name__)\napp.config[\"SECRET_KEY\"] = os.environ[\"SECRET_KEY\"]\nTalisman(app)\n"}, "app/__init__.py:7 error"},
		{"django with an exempt path", map[string]string{"fly.toml": check(""), "mysite/settings.py": "import os\n\nSECRET_KEY = os.environ[\"SECRET_KEY\"]\nSECURE_SSL_REDIRECT = True\nSECURE_REDIRECT_EXEMPT = [r\"^health$\"]\n"}, "mysite/settings.py:4 warning"},
		{"top-level http check", map[string]string{"fly.toml": testFly + "\n[checks.web]\n  type = \"http\"\n  port = 8080\n  path = \"/\"\n", "app/main.py": starlette}, "app/main.py:5 error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := at(runRuleFiles(t, "networking-https-redirect-check", tt.files)); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

// TestNetworkingHTTPSRedirectCheckExample checks the broken example: the
// finding is at the middleware and names the check's place in fly.toml;
// force_https = true alone is never flagged.
func TestNetworkingHTTPSRedirectCheckExample(t *testing.T) {
	fs := runOne(Lookup("networking-https-redirect-check"), loadExample(t, "broken/networking-https-redirect"))
	if len(fs) != 1 || fs[0].Location.String() != "app/main.py:7:20" || fs[0].Severity != report.Error {
		t.Fatalf("want one error at app/main.py:7:20, got %+v", fs)
	}
	if !strings.Contains(fs[0].Message, "fly.toml:11") || !strings.Contains(fs[0].Fix, `X-Forwarded-Proto = "https"`) {
		t.Errorf("message should name the check and the fix the header: %s / %s", fs[0].Message, fs[0].Fix)
	}
	if fs := runOne(Lookup("networking-https-redirect-check"), loadExample(t, "grupo-gad")); len(fs) != 0 {
		t.Errorf("grupo-gad has force_https = true and no app redirect, got %+v", fs)
	}
}
