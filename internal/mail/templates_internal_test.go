package mail

import (
	"io/fs"
	"strings"
	"testing"
)

// TestTemplatesParse parses every template pair in templates/, as the first
// send of each would: they are parsed on first use, not at init, so this
// test is what makes a broken template fail before it reaches a send.
func TestTemplatesParse(t *testing.T) {
	names, err := fs.Glob(templateFS, "templates/*.txt.tmpl")
	if err != nil {
		t.Fatal(err)
	}
	if len(names) == 0 {
		t.Fatal("no templates embedded")
	}
	for _, n := range names {
		name := strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".txt.tmpl")
		if _, err := parse(name); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}
