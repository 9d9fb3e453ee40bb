package protocol

import (
	"bytes"
	"net/http"
)

// Attachment limits: an organisation chooses its own
// (Settings.AttachmentMaxBytes) up to MaxAttachmentBytes.
const (
	DefaultAttachmentBytes int64 = 10 << 20
	MaxAttachmentBytes     int64 = 1 << 30
)

// Attachment types Taiwa takes, decided by the file's content
// (DetectAttachmentType), never by its name.
const (
	TypeJPEG = "image/jpeg"
	TypePNG  = "image/png"
	TypeHEIC = "image/heic"
	TypePDF  = "application/pdf"
)

// AttachmentSniffLen is how many leading bytes DetectAttachmentType needs.
const AttachmentSniffLen = 512

// Attachment is a file carried by a message (images and PDF). It has no
// name: file names often carry personal data, so none is sent or kept.
type Attachment struct {
	ID   int64  `json:"id"`
	Type string `json:"type"` // one of TypeJPEG, TypePNG, TypeHEIC, TypePDF
	Size int64  `json:"size"` // bytes
}

// IsImage reports whether an attachment type is an image (HEIC included:
// whether an app can show it is the app's business).
func IsImage(typ string) bool { return typ == TypeJPEG || typ == TypePNG || typ == TypeHEIC }

// Extension is the file-name extension for saving a type.
func Extension(typ string) string {
	switch typ {
	case TypeJPEG:
		return ".jpg"
	case TypePNG:
		return ".png"
	case TypeHEIC:
		return ".heic"
	case TypePDF:
		return ".pdf"
	}
	return ""
}

// heicBrands are the ISO-BMFF major brands of HEIF/HEIC photos (what
// phones write), at bytes 8–12 after "ftyp" at 4–8.
var heicBrands = []string{"heic", "heix", "heim", "heis", "hevc", "hevx", "mif1", "msf1"}

// DetectAttachmentType returns the type of a file from its first bytes
// (at least AttachmentSniffLen, or all of a shorter file), or "" if it is
// none Taiwa takes. http.DetectContentType knows JPEG, PNG and PDF by
// their signatures; HEIC is recognised by its ftyp box.
func DetectAttachmentType(head []byte) string {
	if len(head) >= 12 && string(head[4:8]) == "ftyp" {
		for _, b := range heicBrands {
			if string(head[8:12]) == b {
				return TypeHEIC
			}
		}
		return ""
	}
	switch http.DetectContentType(head) {
	case TypeJPEG:
		return TypeJPEG
	case TypePNG:
		return TypePNG
	case TypePDF:
		if bytes.HasPrefix(head, []byte("%PDF-")) {
			return TypePDF
		}
	}
	return ""
}
