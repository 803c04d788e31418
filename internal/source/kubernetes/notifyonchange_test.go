package kubernetes

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"
)

// TestNotifyOnChange: adds and deletes always notify; an update only with
// a new resourceVersion that ignore, when set, does not dismiss.
func TestNotifyOnChange(t *testing.T) {
	v1 := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "a", ResourceVersion: "1"}}
	v2 := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "a", ResourceVersion: "2"}}
	v3 := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "a", ResourceVersion: "3", Labels: map[string]string{"x": "y"}}}
	unlabelled := func(_, cur any) bool { return len(cur.(*corev1.Service).Labels) == 0 }
	for _, c := range []struct {
		name   string
		ignore func(old, cur any) bool
		event  func(cache.ResourceEventHandler)
		want   int
	}{
		{"add", unlabelled, func(h cache.ResourceEventHandler) { h.OnAdd(v1, false) }, 1},
		{"delete", unlabelled, func(h cache.ResourceEventHandler) { h.OnDelete(v1) }, 1},
		{"resync", nil, func(h cache.ResourceEventHandler) { h.OnUpdate(v1, v1) }, 0},
		{"update", nil, func(h cache.ResourceEventHandler) { h.OnUpdate(v1, v2) }, 1},
		{"update ignored", unlabelled, func(h cache.ResourceEventHandler) { h.OnUpdate(v1, v2) }, 0},
		{"update not ignored", unlabelled, func(h cache.ResourceEventHandler) { h.OnUpdate(v2, v3) }, 1},
		{"resync not ignored", unlabelled, func(h cache.ResourceEventHandler) { h.OnUpdate(v3, v3) }, 0},
	} {
		got := 0
		c.event(notifyOnChange(func() { got++ }, c.ignore))
		if got != c.want {
			t.Errorf("%s: notified %d times, want %d", c.name, got, c.want)
		}
	}
}
