package protocol

import "testing"

// BenchmarkDecodeClientFrame decodes a client's typical send frame: every
// message a client or counselor writes passes through it on the server.
func BenchmarkDecodeClientFrame(b *testing.B) {
	frame := []byte(`{"type":"send","ref":"c17-000123","body":"今日は少し話を聞いてほしいです。仕事のことで眠れない日が続いています。"}`)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeClientFrame(frame); err != nil {
			b.Fatal(err)
		}
	}
}
