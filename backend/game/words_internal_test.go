package game

import (
	"strings"
	"testing"
	"testing/fstest"
)

func TestParseWordListErrors(t *testing.T) {
	const ok = "[easy]\ncat\n[medium]\nkitten\n[hard]\npolar bear\n"
	tests := []struct {
		name, data, wantErr string
	}{
		{"valid", "# comment\n\n" + ok, ""},
		{"word before section", "cat\n" + ok, "before the first section"},
		{"unknown section", "[extreme]\n" + ok, "unknown difficulty"},
		{"section twice", ok + "[easy]\ndog\n", "appears twice"},
		{"not normalised", strings.Replace(ok, "cat", "Cat", 1), "not a normalised word"},
		{"invalid word", strings.Replace(ok, "cat", "c4t", 1), "not a normalised word"},
		{"duplicate across sections", strings.Replace(ok, "polar bear", "cat", 1), "duplicate word"},
		{"duplicate word", strings.Replace(ok, "kitten", "cat", 1), "duplicate word"},
		{"empty section", "[easy]\ncat\n[medium]\n[hard]\npolar bear\n", "no medium words"},
		{"missing section", "[easy]\ncat\n[hard]\npolar bear\n", "no medium words"},
	}
	for _, tt := range tests {
		_, err := parseWordList(tt.data)
		if tt.wantErr == "" {
			if err != nil {
				t.Errorf("%s: %v", tt.name, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("%s: error %v, want it to mention %q", tt.name, err, tt.wantErr)
		}
	}
}

func TestLoadCatalogErrors(t *testing.T) {
	const ok = "[easy]\ncat\n[medium]\nkitten\n[hard]\npolar bear\n"
	tests := []struct {
		name    string
		files   fstest.MapFS
		wantErr string
	}{
		{"valid", fstest.MapFS{"w/pets.txt": {Data: []byte(ok)}}, ""},
		{"no files", fstest.MapFS{}, "no w/*.txt files"},
		{"reserved name", fstest.MapFS{"w/custom.txt": {Data: []byte(ok)}}, "reserved"},
		{"bad file", fstest.MapFS{"w/pets.txt": {Data: []byte("cat\n")}}, "w/pets.txt"},
	}
	for _, tt := range tests {
		c, err := loadCatalog(tt.files, "w")
		if tt.wantErr == "" {
			if err != nil || len(c.names) != 1 || c.names[0] != "pets" {
				t.Errorf("%s: %+v, %v", tt.name, c, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("%s: error %v, want it to mention %q", tt.name, err, tt.wantErr)
		}
	}
}

func TestMustLoadCatalogPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("mustLoadCatalog of an empty FS did not panic")
		}
	}()
	mustLoadCatalog(fstest.MapFS{}, "w")
}
