package protocol

import "testing"

func TestDetectAttachmentType(t *testing.T) {
	for _, tt := range []struct {
		name string
		head string
		want string
	}{
		{"jpeg", "\xff\xd8\xff\xe0\x00\x10JFIF\x00", TypeJPEG},
		{"png", "\x89PNG\r\n\x1a\nIHDR", TypePNG},
		{"pdf", "%PDF-1.7\n%\xe2\xe3", TypePDF},
		{"heic from an iPhone", "\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic", TypeHEIC},
		{"heif mif1", "\x00\x00\x00\x1cftypmif1\x00\x00\x00\x00mif1heic", TypeHEIC},
		{"mp4 is not heic", "\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2", ""},
		{"gif", "GIF89a\x01\x00", ""},
		{"html named .jpg", "<html><script>alert(1)</script>", ""},
		{"text", "hello", ""},
		{"pdf-ish text", "  %PDF-1.7", ""},
		{"empty", "", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := DetectAttachmentType([]byte(tt.head)); got != tt.want {
				t.Fatalf("DetectAttachmentType = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestSendWithAttachment(t *testing.T) {
	for _, tt := range []struct {
		name string
		send Send
		ok   bool
	}{
		{"file alone", Send{Ref: "r1", Attachment: 3}, true},
		{"file with caption", Send{Ref: "r1", Attachment: 3, Body: "写真です"}, true},
		{"no file, no body", Send{Ref: "r1"}, false},
		{"blank caption", Send{Ref: "r1", Attachment: 3, Body: "   "}, false},
		{"note with a file", Send{Ref: "r1", Attachment: 3, Body: "x", Kind: KindNote}, false},
		{"negative id", Send{Ref: "r1", Attachment: -1, Body: "x"}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.send.validate(); (err == nil) != tt.ok {
				t.Fatalf("validate = %v, want ok %v", err, tt.ok)
			}
		})
	}
}
