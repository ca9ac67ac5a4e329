package kerneltest

import "testing"

// T checks c on the targets (DefaultTargets when none is given) within a
// test: it fails the test on a malformed case or when any run differs or
// fails (the report, with every run, is the message), skips it when fewer
// than two runs could be compared here (no toolchain, no OpenCL: the
// report says why), and logs the report otherwise. It returns the report.
func T(t testing.TB, c Case, targets ...string) *Report {
	t.Helper()
	rep, err := Check(t.Context(), c, targets...)
	return verdict(t, rep, err)
}

// TAll is T for several cases, on devices opened once; each case's
// verdict is its own (one failing case does not hide the others). The test
// is skipped when no case could be compared.
func TAll(t testing.TB, cases []Case, targets ...string) []*Report {
	t.Helper()
	s := NewSession()
	defer s.Close()
	var reps []*Report
	for _, c := range cases {
		rep, err := s.Check(t.Context(), c, targets...)
		if err != nil {
			t.Errorf("%v", err)
			continue
		}
		reps = append(reps, rep)
		switch {
		case !rep.OK():
			t.Errorf("%s", rep)
		case rep.Compared() < 2:
			t.Logf("nothing compared: %s", rep)
		default:
			t.Logf("%s", rep)
		}
	}
	compared := false
	for _, r := range reps {
		compared = compared || r.Compared() >= 2
	}
	if !compared && !t.Failed() {
		t.Skip("no case could be compared here (see the reports above)")
	}
	return reps
}

func verdict(t testing.TB, rep *Report, err error) *Report {
	t.Helper()
	if err != nil {
		t.Fatalf("%v", err)
	}
	switch {
	case !rep.OK():
		t.Errorf("%s", rep)
	case rep.Compared() < 2:
		t.Skipf("nothing to compare here: %s", rep)
	default:
		t.Logf("%s", rep)
	}
	return rep
}
