package kubetest

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// Output without newlines is cut into lines of maxLogLine, a line per
// newline otherwise, and a partial line waits for its end.
func TestLineSplitter(t *testing.T) {
	b := newLogBuffer()
	w := b.writer("stdout")
	huge := strings.Repeat("x", 3*maxLogLine+5)
	if _, err := w.Write([]byte(huge)); err != nil {
		t.Fatal(err)
	}
	lines, _ := b.since(0)
	if len(lines) != 3 || len(lines[0].text) != maxLogLine {
		t.Fatalf("after %d bytes without a newline: %d lines", len(huge), len(lines))
	}
	w.Write([]byte("\nfirst\r\nsec"))
	w.Write([]byte("ond\n\n"))
	lines, next := b.since(3)
	var got []string
	for _, l := range lines {
		got = append(got, l.text)
	}
	if want := []string{"xxxxx", "first\r", "second", ""}; strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("lines = %q, want %q", got, want)
	}
	if next != 7 {
		t.Errorf("next = %d, want 7", next)
	}
}

// A log keeps its newest maxLogLines; a follower's index stays valid
// across the drop.
func TestLogBufferBounded(t *testing.T) {
	b := newLogBuffer()
	for range maxLogLines + 10 {
		b.add("stdout", "line")
	}
	lines, next := b.since(0)
	if len(lines) != maxLogLines || next != maxLogLines+10 {
		t.Fatalf("kept %d lines, next %d", len(lines), next)
	}
	b.add("stdout", "last")
	more, _ := b.since(next)
	if len(more) != 1 || more[0].text != "last" {
		t.Errorf("since(%d) = %v, want the one new line", next, more)
	}
}

func TestParseLogQuery(t *testing.T) {
	good := "/containerLogs/ns/p/c?follow=true&timestamps=1&tailLines=3&limitBytes=10&sinceTime=2026-01-02T03:04:05Z"
	q, err := parseLogQuery(httptest.NewRequest("GET", good, nil))
	if err != nil || !q.follow || !q.timestamps || q.tailLines != 3 || q.limitBytes != 10 || q.since.Year() != 2026 {
		t.Errorf("parseLogQuery(%s) = %+v, %v", good, q, err)
	}
	for _, bad := range []string{
		"follow=maybe", "timestamps=2", "tailLines=-1", "tailLines=x", "tailLines=99999999999999999999",
		"limitBytes=0", "limitBytes=-5", "sinceTime=yesterday", "sinceSeconds=0", "sinceSeconds=-1",
	} {
		if _, err := parseLogQuery(httptest.NewRequest("GET", "/x?"+bad, nil)); err == nil {
			t.Errorf("parseLogQuery(%s): no error", bad)
		}
	}
}

func TestSelectLinesAndLimit(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var lines []logLine
	for i := range 5 {
		lines = append(lines, logLine{at: t0.Add(time.Duration(i) * time.Second), text: strings.Repeat("ab", i)})
	}
	if got := selectLines(lines, logQuery{tailLines: -1, since: t0.Add(3 * time.Second)}); len(got) != 2 {
		t.Errorf("since +3s: %d lines, want 2", len(got))
	}
	if got := selectLines(lines, logQuery{tailLines: 0}); len(got) != 0 {
		t.Errorf("tailLines 0: %d lines", len(got))
	}
	if got := selectLines(lines, logQuery{tailLines: 100}); len(got) != 5 {
		t.Errorf("tailLines 100: %d lines", len(got))
	}
	var sb strings.Builder
	lw := &limitWriter{w: &sb, left: 4}
	n := 0
	for _, l := range lines {
		if !lw.line(l, false) {
			break
		}
		n++
	}
	if sb.String() != "\nab\n" || n != 1 {
		t.Errorf("limitBytes 4: wrote %q after %d whole lines", sb.String(), n)
	}
	sb.Reset()
	lw = &limitWriter{w: &sb}
	lw.line(lines[1], true)
	if sb.String() != "2026-01-01T00:00:01Z ab\n" {
		t.Errorf("timestamps: %q", sb.String())
	}
}
