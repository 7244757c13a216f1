package game

import (
	"embed"
	"fmt"
	"io/fs"
	"maps"
	"path"
	"slices"
	"strings"
	"unicode/utf8"
)

// Word length limits, in runes, for NormalizeWord.
const (
	// MinWordLen is the length of the shortest secret word.
	MinWordLen = 2
	// MaxWordLen is the length of the longest secret word.
	MaxWordLen = 32
)

// wordFiles holds one word list per category, named <category>.txt. Each
// file has an [easy], a [medium] and a [hard] section of one normalised word
// per line; blank lines and lines starting with '#' are ignored.
//
//go:embed words/*.txt
var wordFiles embed.FS

// catalog holds the embedded word lists. Broken embedded data is a
// programming error, so loading it panics.
var catalog = mustLoadCatalog(wordFiles, "words")

// wordCatalog is the parsed set of word lists.
type wordCatalog struct {
	names []string                           // category names, sorted
	lists map[string]map[Difficulty][]string // words by category and difficulty
}

// Categories returns the names of the built-in categories, sorted.
func Categories() []string {
	return slices.Clone(catalog.names)
}

// Words returns the words of a category at a difficulty, in list order.
// The category name ignores case and surrounding space; the difficulty is
// read as by ParseDifficulty.
func Words(category string, d Difficulty) ([]string, error) {
	words, err := wordList(category, d)
	if err != nil {
		return nil, err
	}
	return slices.Clone(words), nil
}

// PickWord returns the word at index intn(n) of Words(category, d), where n
// is the number of words. intn must behave like math/rand/v2.IntN; the
// result is a deterministic function of what it returns.
func PickWord(category string, d Difficulty, intn func(n int) int) (string, error) {
	words, err := wordList(category, d)
	if err != nil {
		return "", err
	}
	return words[intn(len(words))], nil
}

// NormalizeWord trims surrounding white space from a secret word and folds
// it to lower case by ASCII rules only (as NormalizeLetter). The result
// must be MinWordLen to MaxWordLen runes of a–z, space, hyphen and
// apostrophe, with at least two letters and with no separator at either
// end or next to another; otherwise the error wraps ErrInvalidWord.
func NormalizeWord(w string) (string, error) {
	n := asciiLower(strings.TrimSpace(w))
	if err := checkWord(n); err != nil {
		return "", fmt.Errorf("word: %w: %w", err, ErrInvalidWord)
	}
	return n, nil
}

// checkWord explains why w is not a normalised word, or returns nil.
func checkWord(w string) error {
	if n := utf8.RuneCountInString(w); n < MinWordLen || n > MaxWordLen {
		return fmt.Errorf("length %d outside %d..%d", n, MinWordLen, MaxWordLen)
	}
	afterSeparator := true // a separator may not come first
	for _, c := range w {
		switch {
		case isLetter(c):
			afterSeparator = false
		case c == ' ' || c == '-' || c == '\'':
			if afterSeparator {
				return fmt.Errorf("separator %q at the start or after another", c)
			}
			afterSeparator = true
		default:
			return fmt.Errorf("character %q is not a-z, space, hyphen or apostrophe", c)
		}
	}
	if afterSeparator {
		return fmt.Errorf("separator at the end")
	}
	// A word of two or more runes that starts and ends with a letter has at
	// least two letters, so that rule needs no check of its own.
	return nil
}

// wordList returns the shared, unmodifiable list behind Words.
func wordList(category string, d Difficulty) ([]string, error) {
	name, err := findCategory(category)
	if err != nil {
		return nil, err
	}
	d, err = ParseDifficulty(string(d))
	if err != nil {
		return nil, err
	}
	return catalog.lists[name][d], nil
}

// findCategory returns the canonical name of a built-in category.
func findCategory(category string) (string, error) {
	name := strings.ToLower(strings.TrimSpace(category))
	if _, ok := catalog.lists[name]; !ok {
		return "", fmt.Errorf("category %s: %w", quote(category), ErrUnknownCategory)
	}
	return name, nil
}

// mustLoadCatalog loads every dir/*.txt word list of fsys, or panics.
func mustLoadCatalog(fsys fs.FS, dir string) wordCatalog {
	c, err := loadCatalog(fsys, dir)
	if err != nil {
		panic(err)
	}
	return c
}

// loadCatalog loads every dir/*.txt word list of fsys.
func loadCatalog(fsys fs.FS, dir string) (wordCatalog, error) {
	files, err := fs.Glob(fsys, path.Join(dir, "*.txt"))
	if err != nil {
		return wordCatalog{}, fmt.Errorf("word lists: %w", err)
	}
	c := wordCatalog{lists: make(map[string]map[Difficulty][]string)}
	for _, file := range files {
		data, err := fs.ReadFile(fsys, file)
		if err != nil {
			return wordCatalog{}, fmt.Errorf("word lists: %w", err)
		}
		lists, err := parseWordList(string(data))
		if err != nil {
			return wordCatalog{}, fmt.Errorf("word list %s: %w", file, err)
		}
		c.lists[strings.TrimSuffix(path.Base(file), ".txt")] = lists
	}
	if len(c.lists) == 0 {
		return wordCatalog{}, fmt.Errorf("word lists: no %s/*.txt files", dir)
	}
	if _, ok := c.lists[CustomCategory]; ok {
		return wordCatalog{}, fmt.Errorf("word lists: category %q is reserved", CustomCategory)
	}
	c.names = slices.Sorted(maps.Keys(c.lists))
	return c, nil
}

// parseWordList parses one category's word list file.
func parseWordList(data string) (map[Difficulty][]string, error) {
	lists := make(map[Difficulty][]string)
	seen := make(map[string]bool)
	var section Difficulty
	lineNo := 0
	for line := range strings.Lines(data) {
		lineNo++
		line = strings.TrimSpace(line)
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
			continue
		case strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]"):
			d := Difficulty(line[1 : len(line)-1])
			if !slices.Contains(difficulties, d) {
				return nil, fmt.Errorf("line %d: section %q: %w", lineNo, line, ErrUnknownDifficulty)
			}
			if _, ok := lists[d]; ok {
				return nil, fmt.Errorf("line %d: section %q appears twice", lineNo, line)
			}
			lists[d] = nil
			section = d
		case section == "":
			return nil, fmt.Errorf("line %d: word before the first section", lineNo)
		default:
			if w, err := NormalizeWord(line); err != nil || w != line {
				return nil, fmt.Errorf("line %d: %q is not a normalised word: %w", lineNo, line, ErrInvalidWord)
			}
			if seen[line] {
				return nil, fmt.Errorf("line %d: duplicate word %q", lineNo, line)
			}
			seen[line] = true
			lists[section] = append(lists[section], line)
		}
	}
	for _, d := range difficulties {
		if len(lists[d]) == 0 {
			return nil, fmt.Errorf("no %s words", d)
		}
	}
	return lists, nil
}
