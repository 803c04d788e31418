package route53

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"ingress-controller/internal/dnssync"
)

func TestRetriesThrottlingAndServerErrors(t *testing.T) {
	f := newFake(t, exampleZone())
	s := newSyncer(t, newBackend(t, f, Options{HostedZoneID: zoneID}), me)
	f.fail("ListResourceRecordSets", 2, http.StatusBadRequest, "PriorRequestNotComplete")
	f.fail("ChangeResourceRecordSets", 3, http.StatusBadRequest, "Throttling")
	f.fail("ChangeResourceRecordSets", 1, http.StatusInternalServerError, "InternalFailure")
	res := mustSync(t, s, shopAt("192.0.2.1"))
	if res.Attempts != 1 {
		t.Errorf("Sync took %d attempts, want 1: retries are the SDK's", res.Attempts)
	}
	if r, c := f.count("ListResourceRecordSets"), f.count("ChangeResourceRecordSets"); r != 3 || c != 5 {
		t.Errorf("%d list and %d change requests, want 3 (2 refused) and 5 (4 refused)", r, c)
	}
	if len(sets(f)) != 2 {
		t.Errorf("the zone holds %v, want shop and its owner", sets(f))
	}
}

func TestRetriesEnd(t *testing.T) {
	f := newFake(t, exampleZone())
	b := newBackend(t, f, Options{HostedZoneID: zoneID, MaxAttempts: 3})
	f.fail("", 3, http.StatusBadRequest, "Throttling")
	_, err := b.Read(context.Background(), zoneName)
	if !errors.Is(err, ErrThrottled) || errors.Is(err, dnssync.ErrConflict) || !strings.Contains(err.Error(), "refused every attempt") {
		t.Errorf("Read throttled 3 times with 3 attempts = %v", err)
	}
	if n := f.count("ListResourceRecordSets"); n != 3 {
		t.Errorf("%d requests, want 3", n)
	}

	// The context ends the retries first.
	b = newBackend(t, f, Options{HostedZoneID: zoneID, MaxAttempts: 1000, MaxBackoff: 20 * time.Millisecond})
	f.fail("", 1000, http.StatusBadRequest, "Throttling")
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = b.Read(ctx, zoneName)
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 5*time.Second {
		t.Errorf("Read, throttled until the context ends = %v after %v; want the context's error", err, time.Since(start))
	}
}

func TestCredentialErrors(t *testing.T) {
	f := newFake(t, exampleZone())
	for _, tc := range []struct {
		name, key, secret, want string
	}{
		{"wrong secret", testKey, "not-the-secret", "Route 53 rejected them (SignatureDoesNotMatch)"},
		{"unknown key", "AKIDUNKNOWN", testSecret, "Route 53 rejected them (InvalidClientTokenId)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := f.count("ListResourceRecordSets")
			b := newBackend(t, f, Options{HostedZoneID: zoneID, Config: &aws.Config{
				Credentials: credentials.NewStaticCredentialsProvider(tc.key, tc.secret, ""),
			}})
			_, err := newSyncer(t, b, me).Sync(context.Background(), shopAt("192.0.2.1"))
			if !errors.Is(err, ErrCredentials) || !strings.Contains(err.Error(), tc.want) || errors.Is(err, dnssync.ErrConflict) {
				t.Errorf("Sync = %v, want an error with %q", err, tc.want)
			}
			if n := f.count("ListResourceRecordSets") - before; n != 1 {
				t.Errorf("%d requests, want 1: a rejected signature is not retried", n)
			}
		})
	}
	if len(sets(f)) != 0 {
		t.Errorf("the zone holds %v after requests with wrong credentials", sets(f))
	}
}

func TestAPIErrors(t *testing.T) {
	f := newFake(t, exampleZone())
	b := newBackend(t, f, Options{HostedZoneID: zoneID})
	f.fail("ListResourceRecordSets", 1, http.StatusForbidden, "AccessDenied")
	_, err := b.Read(context.Background(), zoneName)
	if want := "must allow route53:ListResourceRecordSets on arn:aws:route53:::hostedzone/" + zoneID; !errors.Is(err, ErrAccessDenied) || !strings.Contains(err.Error(), want) {
		t.Errorf("Read denied = %v, want an error with %q", err, want)
	}

	b = newBackend(t, f, Options{HostedZoneID: "ZNOSUCHZONE"})
	_, err = b.Read(context.Background(), zoneName)
	if !errors.Is(err, ErrHostedZone) || !strings.Contains(err.Error(), "hosted zone ZNOSUCHZONE of example.test. does not exist") {
		t.Errorf("Read of a missing hosted zone = %v", err)
	}

	// A change batch Route 53 refuses for another reason than a
	// precondition is no conflict.
	b = newBackend(t, f, Options{HostedZoneID: zoneID})
	mustRead(t, b)
	err = b.Apply(context.Background(), dnssync.Changes{Zone: zoneName, Names: []dnssync.Change{{
		Op: dnssync.Create, Name: "shop.example.test.", Owner: dnssync.OwnerText(me), TTL: 60,
		Set: []dnssync.RRset{{Type: dnssync.TypeA, Data: []string{"not-an-address"}}},
	}}})
	if err == nil || errors.Is(err, dnssync.ErrConflict) || !strings.Contains(err.Error(), "ARRDATAIllegal") {
		t.Errorf("Apply of an invalid address = %v, want Route 53's message and no ErrConflict", err)
	}
}

// isolateAWSEnv gives the SDK's default chain an environment with no
// credentials and no instance metadata service to ask, so that nothing
// leaves the machine.
func isolateAWSEnv(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{
		"AWS_EC2_METADATA_DISABLED":              "true",
		"AWS_CONFIG_FILE":                        empty,
		"AWS_SHARED_CREDENTIALS_FILE":            empty,
		"AWS_ACCESS_KEY_ID":                      "",
		"AWS_SECRET_ACCESS_KEY":                  "",
		"AWS_SESSION_TOKEN":                      "",
		"AWS_PROFILE":                            "",
		"AWS_DEFAULT_PROFILE":                    "",
		"AWS_REGION":                             "",
		"AWS_DEFAULT_REGION":                     "",
		"AWS_ROLE_ARN":                           "",
		"AWS_WEB_IDENTITY_TOKEN_FILE":            "",
		"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "",
		"AWS_CONTAINER_CREDENTIALS_FULL_URI":     "",
		"AWS_ENDPOINT_URL":                       "",
		"AWS_ENDPOINT_URL_ROUTE_53":              "",
	} {
		t.Setenv(k, v)
	}
}

func TestDefaultCredentialChain(t *testing.T) {
	f := newFake(t, exampleZone())
	newDefault := func(t *testing.T) *Backend {
		t.Helper()
		b, err := New(context.Background(), Options{HostedZoneID: zoneID, Endpoint: f.srv.URL, MaxBackoff: time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}

	t.Run("none", func(t *testing.T) {
		isolateAWSEnv(t)
		_, err := newDefault(t).Read(context.Background(), zoneName)
		if !errors.Is(err, ErrCredentials) || !strings.Contains(err.Error(), "none found; give them as AWS_ACCESS_KEY_ID") {
			t.Errorf("Read without credentials = %v", err)
		}
		if n := f.count("ListResourceRecordSets"); n != 0 {
			t.Errorf("%d requests reached Route 53 unsigned", n)
		}
	})
	t.Run("environment", func(t *testing.T) {
		isolateAWSEnv(t)
		t.Setenv("AWS_ACCESS_KEY_ID", testKey)
		t.Setenv("AWS_SECRET_ACCESS_KEY", testSecret)
		if _, err := newDefault(t).Read(context.Background(), zoneName); err != nil {
			t.Errorf("Read with credentials in the environment: %v", err)
		}
	})
	t.Run("shared credentials file", func(t *testing.T) {
		isolateAWSEnv(t)
		file := filepath.Join(t.TempDir(), "credentials")
		creds := "[ingress]\naws_access_key_id = " + testKey + "\naws_secret_access_key = " + testSecret + "\n"
		if err := os.WriteFile(file, []byte(creds), 0o600); err != nil {
			t.Fatal(err)
		}
		t.Setenv("AWS_SHARED_CREDENTIALS_FILE", file)
		t.Setenv("AWS_PROFILE", "ingress")
		if _, err := newDefault(t).Read(context.Background(), zoneName); err != nil {
			t.Errorf("Read with credentials in a profile of the shared file: %v", err)
		}
	})
}
