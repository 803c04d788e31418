package kubernetes

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// TestMergeListenerConditions: a listener's condition keeps its
// transition time where the listener of the same name had it with the
// same status, in any order, for Gateways and ListenerSets alike.
func TestMergeListenerConditions(t *testing.T) {
	then, now := metav1.NewTime(time.Unix(1000, 0)), metav1.NewTime(time.Unix(2000, 0))
	cond := func(status metav1.ConditionStatus, at metav1.Time) []metav1.Condition {
		return []metav1.Condition{{Type: "Programmed", Status: status, LastTransitionTime: at}}
	}
	// http kept True, https turned False, tcp is new, old is gone.
	cur := []gatewayv1.ListenerStatus{
		{Name: "old", Conditions: cond(metav1.ConditionTrue, then)},
		{Name: "https", Conditions: cond(metav1.ConditionTrue, then)},
		{Name: "http", Conditions: cond(metav1.ConditionTrue, then)},
	}
	want := []gatewayv1.ListenerStatus{
		{Name: "http", Conditions: cond(metav1.ConditionTrue, metav1.Time{})},
		{Name: "https", Conditions: cond(metav1.ConditionFalse, metav1.Time{})},
		{Name: "tcp", Conditions: cond(metav1.ConditionTrue, metav1.Time{})},
	}
	wantTimes := map[gatewayv1.SectionName]metav1.Time{"http": then, "https": now, "tcp": now}
	mergeListenerConditions(cur, want, now, gatewayListener)
	for _, l := range want {
		if got := l.Conditions[0].LastTransitionTime; !got.Equal(new(wantTimes[l.Name])) {
			t.Errorf("Gateway listener %s: lastTransitionTime %v, want %v", l.Name, got, wantTimes[l.Name])
		}
	}

	curSet := []gatewayv1.ListenerEntryStatus{{Name: "http", Conditions: cond(metav1.ConditionTrue, then)}}
	wantSet := []gatewayv1.ListenerEntryStatus{
		{Name: "https", Conditions: cond(metav1.ConditionTrue, metav1.Time{})},
		{Name: "http", Conditions: cond(metav1.ConditionTrue, metav1.Time{})},
	}
	mergeListenerConditions(curSet, wantSet, now, listenerSetListener)
	for _, l := range wantSet {
		if got := l.Conditions[0].LastTransitionTime; !got.Equal(new(wantTimes[l.Name])) {
			t.Errorf("ListenerSet listener %s: lastTransitionTime %v, want %v", l.Name, got, wantTimes[l.Name])
		}
	}
}
