package game

// asciiLower folds the ASCII letters A–Z of s to a–z and leaves every
// other byte as it is. Letters and words are folded by ASCII rules only:
// Unicode case folding would take look-alikes for letters (strings.ToLower
// turns U+212A KELVIN SIGN into k), which must be refused instead.
func asciiLower(s string) string {
	for i := range len(s) {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if c := b[j]; c >= 'A' && c <= 'Z' {
					b[j] = c + 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}
