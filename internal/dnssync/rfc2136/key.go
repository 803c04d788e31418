package rfc2136

import (
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/miekg/dns"

	"ingress-controller/internal/clip"
)

// Key is a TSIG key (RFC 8945). Its String and LogValue never show the
// secret.
type Key struct {
	// Name is lower case and absolute, e.g. "ingress-controller.".
	Name string
	// Algorithm is as miekg/dns names it, e.g. dns.HmacSHA256.
	Algorithm string
	// Secret is base64, as in the key file.
	Secret string
}

func (k Key) String() string {
	return fmt.Sprintf("TSIG key %s (%s)", k.Name, strings.TrimSuffix(k.Algorithm, "."))
}

// GoString keeps %#v from printing the secret.
func (k Key) GoString() string { return k.String() }

func (k Key) LogValue() slog.Value { return slog.StringValue(k.String()) }

// algorithms are the HMACs BIND's tsig-keygen makes that miekg/dns signs
// with, by the names key files use. hmac-md5 is not among them: RFC 8945
// deprecates it.
var algorithms = map[string]string{
	"hmac-sha1":   dns.HmacSHA1,
	"hmac-sha224": dns.HmacSHA224,
	"hmac-sha256": dns.HmacSHA256,
	"hmac-sha384": dns.HmacSHA384,
	"hmac-sha512": dns.HmacSHA512,
}

// ReadKeyFile reads the key in a BIND key file; see ParseKey.
func ReadKeyFile(path string) (Key, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Key{}, err
	}
	k, err := ParseKey(b)
	if err != nil {
		return Key{}, fmt.Errorf("key file %s: %w", path, err)
	}
	return k, nil
}

// ParseKey reads a BIND key file as tsig-keygen writes it:
//
//	key "name" {
//		algorithm hmac-sha256;
//		secret "base64";
//	};
//
// with #, // and /* */ comments allowed anywhere between tokens. The file
// must hold exactly one key statement and nothing else. Errors never quote
// the secret.
func ParseKey(b []byte) (Key, error) {
	toks, err := tokenize(string(b))
	if err != nil {
		return Key{}, err
	}
	p := &keyParser{toks: toks}
	var keys []Key
	for !p.done() {
		k, err := p.key()
		if err != nil {
			return Key{}, err
		}
		keys = append(keys, k)
	}
	switch len(keys) {
	case 0:
		return Key{}, errors.New("no key statement")
	case 1:
		return keys[0], nil
	}
	return Key{}, fmt.Errorf("%d key statements, want one", len(keys))
}

type token struct {
	text   string
	quoted bool
	line   int
}

// tokenize splits named.conf syntax into words, quoted strings and the
// punctuation { } ;, dropping comments.
func tokenize(s string) ([]token, error) {
	var toks []token
	line := 1
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '\n':
			line++
			i++
		case c == ' ' || c == '\t' || c == '\r':
			i++
		case c == '#' || strings.HasPrefix(s[i:], "//"):
			for i < len(s) && s[i] != '\n' {
				i++
			}
		case strings.HasPrefix(s[i:], "/*"):
			end := strings.Index(s[i+2:], "*/")
			if end < 0 {
				return nil, fmt.Errorf("line %d: unterminated /* comment", line)
			}
			line += strings.Count(s[i:i+2+end], "\n")
			i += end + 4
		case c == '{' || c == '}' || c == ';':
			toks = append(toks, token{text: string(c), line: line})
			i++
		case c == '"':
			end := strings.IndexByte(s[i+1:], '"')
			if end < 0 {
				return nil, fmt.Errorf("line %d: unterminated quoted string", line)
			}
			text := s[i+1 : i+1+end]
			toks = append(toks, token{text: text, quoted: true, line: line})
			line += strings.Count(text, "\n")
			i += end + 2
		default:
			start := i
			for i < len(s) && !strings.ContainsRune(" \t\r\n{};\"#", rune(s[i])) &&
				!strings.HasPrefix(s[i:], "//") && !strings.HasPrefix(s[i:], "/*") {
				i++
			}
			toks = append(toks, token{text: s[start:i], line: line})
		}
	}
	return toks, nil
}

type keyParser struct {
	toks []token
	i    int
}

func (p *keyParser) done() bool { return p.i >= len(p.toks) }

// next returns the next token; what names what is expected, for the error
// at the end of the file.
func (p *keyParser) next(what string) (token, error) {
	if p.done() {
		return token{}, fmt.Errorf("unexpected end of file, want %s", what)
	}
	t := p.toks[p.i]
	p.i++
	return t, nil
}

// punct reads the punctuation c.
func (p *keyParser) punct(c string) error {
	t, err := p.next(`"` + c + `"`)
	if err != nil {
		return err
	}
	if t.text != c || t.quoted {
		return fmt.Errorf("line %d: %q, want %q", t.line, clip.Value(t.text), c)
	}
	return nil
}

// value reads a word or quoted string and the ";" after it. For a secret,
// errors quote no token: the one after a malformed secret may be part of it.
func (p *keyParser) value(what string, secret bool) (token, error) {
	t, err := p.next(what)
	if err != nil {
		return token{}, err
	}
	if !t.quoted && (t.text == "{" || t.text == "}" || t.text == ";") {
		return token{}, fmt.Errorf("line %d: %q, want %s", t.line, t.text, what)
	}
	if err := p.punct(";"); err != nil {
		if secret {
			return token{}, fmt.Errorf("line %d: want \";\" after the secret", t.line)
		}
		return token{}, err
	}
	return t, nil
}

func (p *keyParser) key() (Key, error) {
	t, err := p.next("key")
	if err != nil {
		return Key{}, err
	}
	if t.text != "key" || t.quoted {
		return Key{}, fmt.Errorf("line %d: %q: a key file holds only key statements", t.line, clip.Value(t.text))
	}
	nameTok, err := p.next("the key's name")
	if err != nil {
		return Key{}, err
	}
	if !nameTok.quoted && strings.Contains("{};", nameTok.text) {
		return Key{}, fmt.Errorf("line %d: %q, want the key's name", nameTok.line, nameTok.text)
	}
	name := dns.CanonicalName(nameTok.text)
	if _, ok := dns.IsDomainName(name); !ok || nameTok.text == "" || name == "." {
		return Key{}, fmt.Errorf("line %d: key name %q is not a domain name", nameTok.line, clip.Value(nameTok.text))
	}
	if err := p.punct("{"); err != nil {
		return Key{}, err
	}
	k := Key{Name: name}
	for {
		t, err := p.next(`"algorithm", "secret" or "}"`)
		if err != nil {
			return Key{}, err
		}
		if t.text == "}" && !t.quoted {
			break
		}
		switch t.text {
		case "algorithm":
			v, err := p.value("an algorithm", false)
			if err != nil {
				return Key{}, err
			}
			alg, ok := algorithms[strings.ToLower(v.text)]
			if !ok {
				return Key{}, fmt.Errorf("line %d: key %s: algorithm %q is not supported; use hmac-sha256 (tsig-keygen's default), hmac-sha512, hmac-sha384, hmac-sha224 or hmac-sha1", v.line, name, clip.Value(v.text))
			}
			if k.Algorithm != "" {
				return Key{}, fmt.Errorf("line %d: key %s: a second algorithm", t.line, name)
			}
			k.Algorithm = alg
		case "secret":
			v, err := p.value("a secret", true)
			if err != nil {
				return Key{}, err
			}
			if k.Secret != "" {
				return Key{}, fmt.Errorf("line %d: key %s: a second secret", t.line, name)
			}
			if b, err := base64.StdEncoding.DecodeString(v.text); err != nil || len(b) == 0 {
				return Key{}, fmt.Errorf("line %d: key %s: the secret is not base64", v.line, name)
			}
			k.Secret = v.text
		default:
			return Key{}, fmt.Errorf("line %d: key %s: %q, want algorithm or secret", t.line, name, clip.Value(t.text))
		}
	}
	if err := p.punct(";"); err != nil {
		return Key{}, err
	}
	switch {
	case k.Algorithm == "":
		return Key{}, fmt.Errorf("key %s has no algorithm", name)
	case k.Secret == "":
		return Key{}, fmt.Errorf("key %s has no secret", name)
	}
	return k, nil
}
