package protocol

import (
	"encoding/json"
	"strconv"
)

// Usage figures per client group (issue 16): what a provider reports to
// the companies it serves, without identities. Counts from 1 to
// SmallNumber-1 are suppressed ("<5"), so that a figure never points at a
// person; a median of fewer than SmallNumber answers is not given.

// SmallNumber is the smallest count shown as it is (besides 0).
const SmallNumber = 5

// Figure is a count, or Few (shown "<5") when it is 1 to SmallNumber-1.
type Figure struct {
	N   int  // 0 when Few
	Few bool // 1 to SmallNumber-1
}

// NewFigure suppresses a small count.
func NewFigure(n int) Figure {
	if n > 0 && n < SmallNumber {
		return Figure{Few: true}
	}
	return Figure{N: n}
}

// String is the figure as shown: "<5" or the number.
func (f Figure) String() string {
	if f.Few {
		return "<" + strconv.Itoa(SmallNumber)
	}
	return strconv.Itoa(f.N)
}

// MarshalJSON writes a number, or the string "<5".
func (f Figure) MarshalJSON() ([]byte, error) {
	if f.Few {
		return json.Marshal(f.String())
	}
	return []byte(strconv.Itoa(f.N)), nil
}

// UnmarshalJSON reads what MarshalJSON writes.
func (f *Figure) UnmarshalJSON(b []byte) error {
	var s string
	if json.Unmarshal(b, &s) == nil {
		if s != "<"+strconv.Itoa(SmallNumber) {
			return Errorf(CodeInvalid, "a figure is a number or %q", "<"+strconv.Itoa(SmallNumber))
		}
		*f = Figure{Few: true}
		return nil
	}
	var n int
	if err := json.Unmarshal(b, &n); err != nil {
		return err
	}
	*f = Figure{N: n}
	return nil
}

// GroupUsage is one group's figures for one week (Monday to Sunday in the
// organisation's time zone).
type GroupUsage struct {
	Week      string `json:"week"` // its Monday, 2026-11-30
	GroupID   int64  `json:"group_id"`
	GroupName string `json:"group_name"`
	// Registered clients; Wrote: clients who wrote; Conversations that
	// began (a client wrote while nobody had their conversation).
	Registered    Figure `json:"registered"`
	Wrote         Figure `json:"wrote"`
	Conversations Figure `json:"conversations"`
	// MedianAnswerSeconds is the median time a waiting client waited for
	// an answer; absent when fewer than SmallNumber answers were given.
	MedianAnswerSeconds *int64 `json:"median_answer_seconds,omitempty"`
}
