package rules

import (
	"strconv"
	"strings"
	"testing"
)

func TestReleaseCreateAllCases(t *testing.T) {
	call := "from app.db import Base, engine\n\nBase.metadata.create_all(bind=engine)\n"
	tests := []struct {
		name    string
		changes map[string]string
		want    []string // file:line
	}{
		{name: "none"},
		{name: "at import", changes: map[string]string{"app/main.py": call}, want: []string{"app/main.py:3"}},
		{name: "in a commented line", changes: map[string]string{"app/main.py": "# Base.metadata.create_all(bind=engine)\n\"\"\"Base.metadata.create_all()\"\"\"\n"}},
		{name: "in test code", changes: map[string]string{"tests/conftest.py": call}},
		{name: "in env.py", changes: map[string]string{"alembic/env.py": call}},
		{name: "in a script", changes: map[string]string{"scripts/init_db.py": call}, want: []string{"scripts/init_db.py:3"}},
		{name: "no migrations", changes: map[string]string{"app/main.py": call, "alembic/versions/29e2b3c8b942_create_units.py": ""}},
		{name: "sqlmodel", changes: map[string]string{"app/main.py": "from sqlmodel import SQLModel\n\nfrom app.db import engine\n\n\ndef init():\n    SQLModel.metadata.create_all(engine)\n"},
			want: []string{"app/main.py:7"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := relTestRepo(t, relBaseFiles(), tt.changes)
			got := relCheckRule(t, ruleReleaseCreateAll, p)
			var locs []string
			for _, f := range got {
				locs = append(locs, f.File+":"+strconv.Itoa(f.Line))
				if !strings.Contains(f.Message, "alembic.ini, 1 migration)") {
					t.Errorf("message: %s", f.Message)
				}
			}
			if strings.Join(locs, " ") != strings.Join(tt.want, " ") {
				t.Errorf("findings at %v, want %v", locs, tt.want)
			}
		})
	}
}
