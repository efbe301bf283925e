package lazyre

import (
	"sync"
	"testing"
)

func TestCompilesOnceOnFirstUse(t *testing.T) {
	r := New(`(?P<k>\w+)=(\d+)`)
	if r.re != nil {
		t.Fatal("compiled before first use")
	}
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() { defer wg.Done(); _ = r.MatchString("a=1") }()
	}
	wg.Wait()
	if m := r.FindStringSubmatch("x=42"); len(m) != 3 || m[2] != "42" || r.SubexpIndex("k") != 1 {
		t.Errorf("FindStringSubmatch = %q", m)
	}
	if got := r.ReplaceAllString("a=1 b=2", "$k"); got != "a b" {
		t.Errorf("ReplaceAllString = %q", got)
	}
	if r.String() != `(?P<k>\w+)=(\d+)` {
		t.Errorf("String = %q", r.String())
	}
}

func TestBadPatternPanicsAtFirstUse(t *testing.T) {
	r := New(`(`)
	defer func() {
		if recover() == nil {
			t.Error("a bad pattern must panic at first use")
		}
	}()
	r.MatchString("x")
}
