package haproxy

import (
	"fmt"
	"strconv"
	"strings"

	"ingress-controller/pkg/lbconfig"
)

// Basic authentication is a userlist per lbconfig.Credentials, checked by
// http_auth(), which verifies each password with crypt(3) (libxcrypt on
// Debian 12: bcrypt, $1$, $5$ and $6$, but neither Apache's $apr1$ nor
// {SHA}). A route's map value carries its rule after "!", as access rules
// ride after "~"; the rule answers 401 after redirects, so no password is
// asked over plain HTTP on a route that redirects to HTTPS.

// crypt3Formats are the hash formats HAProxy's crypt(3) verifies, found
// with a real HAProxy 2.6 (providertest's BasicAuth case checks each, and
// that the others are rejected).
var crypt3Formats = map[lbconfig.HashFormat]bool{
	lbconfig.HashBcrypt:      true,
	lbconfig.HashMD5Crypt:    true,
	lbconfig.HashSHA256Crypt: true,
	lbconfig.HashSHA512Crypt: true,
}

// userlistID is the HAProxy userlist of the i-th credentials.
func userlistID(i int) string { return "ul" + strconv.Itoa(i) }

// userlists renders a userlist for each credentials of the config and
// fills r.userlists; a user HAProxy cannot verify is an error naming it.
func (r *renderer) userlists() error {
	r.userlistIDs = map[string]string{}
	w := &r.cfgText
	for i, c := range r.cfg.Credentials {
		id := userlistID(i)
		r.userlistIDs[c.Name] = id
		w.line("")
		w.line("# credentials " + quote(c.Name))
		w.line("userlist " + id)
		for k, u := range c.Users {
			line, err := userLine(u)
			if err != nil {
				return fmt.Errorf("credentials %q: user %d (%s): %w", c.Name, k, quote(u.Name), err)
			}
			w.line(line)
		}
	}
	return nil
}

// userLine is the userlist line of u: its name in single quotes, inside
// which HAProxy reads every byte as it is, and its hash, whose characters
// (crypt's alphabet and '$') need no quoting.
func userLine(u lbconfig.User) (string, error) {
	if err := lbconfig.CheckUserName(u.Name); err != nil {
		return "", err
	}
	if strings.ContainsAny(u.Name, `'`) {
		return "", fmt.Errorf("HAProxy cannot take a user name with a single quote")
	}
	f, err := lbconfig.HashFormatOf(u.Hash)
	if err != nil {
		return "", err
	}
	if !crypt3Formats[f] {
		return "", fmt.Errorf("HAProxy cannot verify %s hashes (its crypt(3) knows bcrypt, $1$, $5$ and $6$); hash the password with htpasswd -B or openssl passwd -6", f)
	}
	return "    user '" + u.Name + "' password " + u.Hash, nil
}

// authRules numbers the distinct (credentials, realm) pairs of one
// listener's routes, in the order routes first use them.
type authRules struct {
	rules []authRule
}

type authRule struct {
	id, userlist, realm string
}

// add returns the id of ba's rule.
func (rs *authRules) add(ba *lbconfig.BasicAuth, userlists map[string]string) (string, error) {
	ul := userlists[ba.Credentials]
	if ul == "" {
		return "", fmt.Errorf("credentials %q do not exist", ba.Credentials)
	}
	if err := lbconfig.CheckRealm(ba.Realm); err != nil {
		return "", err
	}
	for _, r := range rs.rules {
		if r.userlist == ul && r.realm == ba.Realm {
			return r.id, nil
		}
	}
	id := "u" + strconv.Itoa(len(rs.rules))
	rs.rules = append(rs.rules, authRule{id: id, userlist: ul, realm: ba.Realm})
	return id, nil
}

// splitLines take the rule id off the routes' map value into txn.auth;
// they come before the access rules, which read what is left.
func (rs *authRules) splitLines(w *lines) {
	if len(rs.rules) == 0 {
		return
	}
	w.line("    http-request set-var(txn.auth) var(txn.backend),field(2,!) if { var(txn.backend) -m sub ! }")
	w.line("    http-request set-var(txn.backend) var(txn.backend),field(1,!) if { var(txn.auth) -m found }")
}

// checkLines answer 401 to a request of a protected route without exactly
// one Authorization field that one of the users' passwords verifies (the
// builtin refuses two as well), and take the field off the others: the
// backend never sees it, as with ingress-nginx.
func (rs *authRules) checkLines(w *lines) {
	for _, a := range rs.rules {
		on := "{ var(txn.auth) -m str " + a.id + " }"
		w.line("    http-request auth realm \"" + a.realm + "\" if " + on + " !{ http_auth(" + a.userlist + ") } || " + on + " { req.hdr_cnt(authorization) gt 1 }")
	}
	if len(rs.rules) > 0 {
		w.line("    http-request del-header authorization if { var(txn.auth) -m found }")
	}
}
