package protocol

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestDecodeClientFrame(t *testing.T) {
	long := strings.Repeat("あ", MaxBodyRunes+1)
	tests := []struct {
		name string
		in   string
		code Code // "" means accepted
	}{
		{"hello", `{"type":"hello","v":1,"cursor":42}`, ""},
		{"hello old version", `{"type":"hello","v":0}`, CodeUnsupportedVersion},
		{"hello version 2", `{"type":"hello","v":2,"cursor":42}`, ""},
		{"hello newer version", `{"type":"hello","v":3}`, CodeUnsupportedVersion},
		{"hello negative cursor", `{"type":"hello","v":1,"cursor":-1}`, CodeBadFrame},
		{"send", `{"type":"send","ref":"a1","body":"こんにちは\n元気です"}`, ""},
		{"send to conversation", `{"type":"send","ref":"a1","conversation_id":7,"body":"hi"}`, ""},
		{"send without ref", `{"type":"send","body":"hi"}`, CodeBadFrame},
		{"send ref with space", `{"type":"send","ref":"a b","body":"hi"}`, CodeBadFrame},
		{"send ref too long", `{"type":"send","ref":"` + strings.Repeat("x", 65) + `","body":"hi"}`, CodeBadFrame},
		{"send blank", `{"type":"send","ref":"a","body":"  \n "}`, CodeInvalidBody},
		{"send too long", `{"type":"send","ref":"a","body":"` + long + `"}`, CodeInvalidBody},
		{"send control char", `{"type":"send","ref":"a","body":"a\u0007b"}`, CodeInvalidBody},
		{"send body wrong type", `{"type":"send","ref":"a","body":12}`, CodeBadFrame},
		{"receipt", `{"type":"receipt","conversation_id":3,"delivered_seq":5,"read_seq":4}`, ""},
		{"receipt negative", `{"type":"receipt","read_seq":-4}`, CodeBadFrame},
		{"unknown type", `{"type":"launch_missiles"}`, CodeUnknownType},
		{"no type", `{"v":1}`, CodeBadFrame},
		{"not json", `hello`, CodeBadFrame},
		{"array", `[1,2]`, CodeBadFrame},
		{"trailing data", `{"type":"hello","v":1} {}`, CodeBadFrame},
		{"invalid utf8", "{\"type\":\"send\",\"ref\":\"a\",\"body\":\"\xff\xfe\"}", CodeBadFrame},
		{"too large", `{"type":"send","ref":"a","body":"` + strings.Repeat("a", MaxFrameBytes) + `"}`, CodeTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := DecodeClientFrame([]byte(tt.in))
			if tt.code == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if f == nil {
					t.Fatal("nil frame")
				}
				return
			}
			var pe *Error
			if !errors.As(err, &pe) {
				t.Fatalf("err = %v, want *Error %s", err, tt.code)
			}
			if pe.Code != tt.code {
				t.Fatalf("code = %s (%s), want %s", pe.Code, pe.Message, tt.code)
			}
		})
	}
}

func TestReceiptReadImpliesDelivered(t *testing.T) {
	f, err := DecodeClientFrame([]byte(`{"type":"receipt","read_seq":9,"delivered_seq":3}`))
	if err != nil {
		t.Fatal(err)
	}
	if r := f.(*Receipt); r.DeliveredSeq != 9 {
		t.Fatalf("delivered = %d, want 9", r.DeliveredSeq)
	}
}

func TestAsErrorHidesInternalText(t *testing.T) {
	e := AsError(errors.New("disk /var/secret failed"))
	if e.Code != CodeInternal || strings.Contains(e.Message, "secret") {
		t.Fatalf("got %+v", e)
	}
}

func FuzzDecodeClientFrame(f *testing.F) {
	for _, s := range []string{
		`{"type":"hello","v":1,"cursor":1}`,
		`{"type":"send","ref":"r","conversation_id":1,"body":"こんにちは"}`,
		`{"type":"receipt","conversation_id":1,"delivered_seq":2,"read_seq":1}`,
		`{"type":"x"}`, `[]`, `null`, "\xff",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		frame, err := DecodeClientFrame(data)
		if err != nil {
			var pe *Error
			if !errors.As(err, &pe) || pe.Code == "" || pe.Code == CodeInternal {
				t.Fatalf("error is not a client-facing *Error: %v", err)
			}
			return
		}
		// Whatever is accepted must satisfy the invariants the server relies on.
		switch v := frame.(type) {
		case *Hello:
			if v.V < MinVersion || v.V > Version || v.Cursor < 0 {
				t.Fatalf("bad hello accepted: %+v", v)
			}
		case *Send:
			if ValidateRef(v.Ref) != nil || ValidateBody(v.Body) != nil || v.ConversationID < 0 {
				t.Fatalf("bad send accepted: %+v", v)
			}
		case *Receipt:
			if v.ReadSeq < 0 || v.DeliveredSeq < v.ReadSeq || v.ConversationID < 0 {
				t.Fatalf("bad receipt accepted: %+v", v)
			}
		default:
			t.Fatalf("unexpected frame %T", frame)
		}
	})
}

// Text made only of what cannot be seen is empty; a name cannot be turned
// around by direction controls.
func TestInvisibleAndDirectionText(t *testing.T) {
	tests := []struct {
		name   string
		body   string
		bodyOK bool
		nickOK bool
	}{
		{"plain", "さくら", true, true},
		{"zero-width spaces only", "\u200b\u200b", false, false},
		{"a word joiner and spaces", "\u2060 \u3000", false, false},
		{"right-to-left override", "abc\u202Efdp.exe", true, false},
		{"an isolate", "名\u2066前\u2069", true, false},
		{"emoji with a joiner", "👨\u200d👩", true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := ValidateBody(tt.body); (err == nil) != tt.bodyOK {
				t.Errorf("body: %v, want ok=%v", err, tt.bodyOK)
			}
			if err := ValidateNickname(tt.body); (err == nil) != tt.nickOK {
				t.Errorf("nickname: %v, want ok=%v", err, tt.nickOK)
			}
		})
	}
}

// Keys are taken as written: another case or a key given twice is refused,
// as an unknown key is.
func TestFrameKeysAsWritten(t *testing.T) {
	tests := []struct {
		name, frame string
		ok          bool
	}{
		{"as written", `{"type":"send","ref":"r","body":"x"}`, true},
		{"another case", `{"type":"send","ref":"r","BODY":"x"}`, false},
		{"the type in capitals", `{"TYPE":"send","type":"send","ref":"r","body":"x"}`, false},
		{"a key twice", `{"type":"send","ref":"r","body":"x","body":"y"}`, false},
		{"nested, in a hello", `{"type":"hello","v":1,"cursor":0}`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeClientFrame([]byte(tt.frame))
			if (err == nil) != tt.ok {
				t.Fatalf("got %v, want ok=%v", err, tt.ok)
			}
		})
	}
}

// Every frame the server sends decodes to its own type; a type this
// version does not know decodes to *UnknownFrame, not to an error.
func TestDecodeServerFrame(t *testing.T) {
	tests := []struct {
		typ  string
		want ServerFrame
	}{
		{TypeWelcome, &Welcome{}},
		{TypeSynced, &Synced{}},
		{TypeMessage, &MessageFrame{}},
		{TypeAck, &Ack{}},
		{TypeError, &ErrorFrame{}},
		{TypeConversation, &ConversationFrame{}},
		{TypeConversationDeleted, &ConversationDeletedFrame{}},
		{TypeDeleted, &DeletedFrame{}},
		{TypeSettings, &SettingsFrame{}},
		{TypeRevoked, &RevokedFrame{}},
		{TypeTyping, &TypingFrame{}},
		{TypePong, &Pong{}},
		{TypeResume, &ResumeFrame{}},
		{"shiny_new_frame", &UnknownFrame{}},
	}
	for _, tt := range tests {
		t.Run(tt.typ, func(t *testing.T) {
			got, err := DecodeServerFrame([]byte(`{"type":"` + tt.typ + `"}`))
			if err != nil {
				t.Fatal(err)
			}
			if reflect.TypeOf(got) != reflect.TypeOf(tt.want) {
				t.Fatalf("decoded to %T, want %T", got, tt.want)
			}
		})
	}
	if _, err := DecodeServerFrame([]byte(`{"type":"message","message":"not an object"}`)); err == nil {
		t.Fatal("a malformed message frame decoded")
	}
}
