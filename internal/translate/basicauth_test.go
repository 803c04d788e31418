package translate

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"ingress-controller/pkg/lbconfig"
)

const (
	testAPR1   = "$apr1$CT7MCO5G$TG8lUK7RX2o7F4TqVz0Fw."
	testBcrypt = "$2y$05$40FKswUoByTuMd3BQAf5oO1FCWsAxQWUMWg/wGSwFgVamrlMc8/Bm"
)

func authIngress(annotations map[string]string) *networkingv1.Ingress {
	return &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Name: "app", Namespace: "shop", Annotations: annotations}}
}

func authSecrets(data map[string]string) map[string]*corev1.Secret {
	return map[string]*corev1.Secret{"shop/users": {
		ObjectMeta: metav1.ObjectMeta{Name: "users", Namespace: "shop"}, Type: corev1.SecretTypeOpaque, StringData: data,
	}}
}

func TestBasicAuthOfFile(t *testing.T) {
	ing := authIngress(map[string]string{AnnotationAuthType: "basic", AnnotationAuthSecret: "users"})
	for _, tc := range []struct {
		name, file string
		want       []lbconfig.User // nil: refused
	}{
		{"one", "alice:" + testAPR1 + "\n", []lbconfig.User{{Name: "alice", Hash: testAPR1}}},
		{"no final newline", "alice:" + testAPR1, []lbconfig.User{{Name: "alice", Hash: testAPR1}}},
		{"crlf, comments, blank lines", "# c\r\n\r\nbob:" + testBcrypt + "\r\n  \nalice:" + testAPR1 + "\r\n",
			[]lbconfig.User{{Name: "alice", Hash: testAPR1}, {Name: "bob", Hash: testBcrypt}}},
		{"first of a user wins", "alice:" + testAPR1 + "\nalice:" + testBcrypt + "\n", []lbconfig.User{{Name: "alice", Hash: testAPR1}}},
		{"utf-8 user", "zoë:" + testAPR1, []lbconfig.User{{Name: "zoë", Hash: testAPR1}}},
		{"empty", "", nil},
		{"comments only", "# x\n", nil},
		{"no colon", "alice" + testAPR1, nil},
		{"plain text", "alice:s3cret", nil},
		{"empty user", ":" + testAPR1, nil},
		{"nul in user", "al\x00ice:" + testAPR1, nil},
		{"non-utf-8 user", "al\xffice:" + testAPR1, nil},
		{"one bad line of two", "alice:" + testAPR1 + "\nbob:nothash\n", nil},
		{"long line", "alice:" + testAPR1 + strings.Repeat("x", 1<<20), nil},
		{"bcrypt cost 31", "alice:" + strings.Replace(testBcrypt, "$05$", "$31$", 1), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			auth, creds, field, err := basicAuthOf(ing, authSecrets(map[string]string{"auth": tc.file}))
			if tc.want == nil {
				if err == nil {
					t.Fatalf("basicAuthOf = %+v, %+v; want an error", auth, creds)
				}
				if field != annotationField(AnnotationAuthSecret) {
					t.Errorf("field = %q, want the auth-secret annotation", field)
				}
				for _, secret := range []string{"s3cret", "CT7MCO5G", "40FKswUo"} {
					if strings.Contains(err.Error(), secret) {
						t.Errorf("the error quotes a password or hash: %v", err)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if auth.Credentials != "shop/users" || creds.Name != "shop/users" || auth.Realm != DefaultAuthRealm {
				t.Errorf("auth = %+v, credentials %q", auth, creds.Name)
			}
			if len(creds.Users) != len(tc.want) {
				t.Fatalf("users = %+v, want %+v", creds.Users, tc.want)
			}
			for i := range tc.want {
				if creds.Users[i] != tc.want[i] {
					t.Errorf("user %d = %+v, want %+v", i, creds.Users[i], tc.want[i])
				}
			}
		})
	}
}

func TestBasicAuthOfAnnotations(t *testing.T) {
	secrets := authSecrets(map[string]string{"auth": "alice:" + testAPR1, "bob": testBcrypt})
	for _, tc := range []struct {
		name        string
		annotations map[string]string
		field       string // "" means accepted
	}{
		{"none", map[string]string{}, ""},
		{"qualified name", map[string]string{AnnotationAuthType: "basic", AnnotationAuthSecret: "shop/users"}, ""},
		{"spaces", map[string]string{AnnotationAuthType: " basic ", AnnotationAuthSecret: " users "}, ""},
		{"realm", map[string]string{AnnotationAuthType: "basic", AnnotationAuthSecret: "users", AnnotationAuthRealm: "Staff - a.b_c~d:e/f"}, ""},
		{"map", map[string]string{AnnotationAuthType: "basic", AnnotationAuthSecret: "users", AnnotationAuthSecretType: AuthSecretMap}, AnnotationAuthSecret},
		{"other namespace", map[string]string{AnnotationAuthType: "basic", AnnotationAuthSecret: "other/users"}, AnnotationAuthSecret},
		{"traversal", map[string]string{AnnotationAuthType: "basic", AnnotationAuthSecret: "shop/../users"}, AnnotationAuthSecret},
		{"two slashes", map[string]string{AnnotationAuthType: "basic", AnnotationAuthSecret: "shop/users/x"}, AnnotationAuthSecret},
		{"no secret", map[string]string{AnnotationAuthType: "basic"}, AnnotationAuthSecret},
		{"missing secret", map[string]string{AnnotationAuthType: "basic", AnnotationAuthSecret: "nope"}, AnnotationAuthSecret},
		{"digest", map[string]string{AnnotationAuthType: "digest", AnnotationAuthSecret: "users"}, AnnotationAuthType},
		{"upper case type", map[string]string{AnnotationAuthType: "Basic", AnnotationAuthSecret: "users"}, AnnotationAuthType},
		{"secret without type", map[string]string{AnnotationAuthSecret: "users"}, AnnotationAuthType},
		{"realm without type", map[string]string{AnnotationAuthRealm: "x"}, AnnotationAuthType},
		{"unknown secret type", map[string]string{AnnotationAuthType: "basic", AnnotationAuthSecret: "users", AnnotationAuthSecretType: "auth-json"}, AnnotationAuthSecretType},
		{"header injection in realm", map[string]string{AnnotationAuthType: "basic", AnnotationAuthSecret: "users", AnnotationAuthRealm: "x\"\r\nSet-Cookie: a=b"}, AnnotationAuthRealm},
		{"empty realm", map[string]string{AnnotationAuthType: "basic", AnnotationAuthSecret: "users", AnnotationAuthRealm: " "}, AnnotationAuthRealm},
		{"huge realm", map[string]string{AnnotationAuthType: "basic", AnnotationAuthSecret: "users", AnnotationAuthRealm: strings.Repeat("a", 1<<16)}, AnnotationAuthRealm},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, field, err := basicAuthOf(authIngress(tc.annotations), secrets)
			switch {
			case tc.field == "" && err != nil:
				t.Fatalf("basicAuthOf = %v, want accepted", err)
			case tc.field != "" && (err == nil || field != annotationField(tc.field)):
				t.Fatalf("basicAuthOf = %q, %v; want an error on %s", field, err, tc.field)
			}
		})
	}
}

func TestBasicAuthOfMap(t *testing.T) {
	ing := authIngress(map[string]string{AnnotationAuthType: "basic", AnnotationAuthSecret: "users", AnnotationAuthSecretType: AuthSecretMap})
	auth, creds, _, err := basicAuthOf(ing, authSecrets(map[string]string{"bob": testBcrypt + "\n", "alice": testAPR1}))
	if err != nil {
		t.Fatal(err)
	}
	if auth.Credentials != creds.Name || creds.Name == "shop/users" {
		t.Errorf("auth-map credentials %q (route %q): want a name of their own, apart from the auth-file reading", creds.Name, auth.Credentials)
	}
	if len(creds.Users) != 2 || creds.Users[0] != (lbconfig.User{Name: "alice", Hash: testAPR1}) || creds.Users[1] != (lbconfig.User{Name: "bob", Hash: testBcrypt}) {
		t.Errorf("users = %+v", creds.Users)
	}
	if _, _, _, err := basicAuthOf(ing, authSecrets(map[string]string{"auth": "alice:" + testAPR1})); err == nil {
		t.Errorf("an htpasswd file read as a map (user %q) was accepted", "auth")
	}
}
