package torture

import "testing"

// TestSlice runs a short slice of the campaign in the default suite: a
// few cases, one seed each, in this process.
func TestSlice(t *testing.T) {
	cases, err := Select(`^(clean/1|strip-acks/1|coalesce-all/2|spoofed-plain-acks/2|path-down/2)$`)
	if err != nil {
		t.Fatal(err)
	}
	seeds := 2
	if testing.Short() {
		seeds = 1
	}
	res, err := (&Campaign{Cases: cases, Seeds: seeds, FirstSeed: 1}).Run()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res {
		if !r.OK() {
			t.Errorf("%s: %+v", r.Case, r)
		}
	}
}

func TestSelect(t *testing.T) {
	if _, err := Select("no such case"); err == nil {
		t.Error("no error for a pattern that matches nothing")
	}
	if _, err := Select("("); err == nil {
		t.Error("no error for a bad pattern")
	}
}
