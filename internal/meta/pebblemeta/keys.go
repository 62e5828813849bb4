package pebblemeta

import (
	"encoding/binary"
	"errors"
)

// Key spaces. Each record kind has its own first byte.
const (
	kindBucket     = 'b' // b esc(name)                                   -> bucket record
	kindVersion    = 'v' // v esc(bucket) esc(key) be64(^stamp) esc(vid) -> version record (no inline data)
	kindVersionIdx = 'i' // i esc(bucket) esc(key) esc(vid)              -> be64(stamp) + inline data
	kindUpload     = 'u' // u esc(bucket) esc(uploadID)                   -> upload record
	kindUploadIdx  = 'U' // U esc(bucket) esc(key) time esc(uploadID)     -> empty
	kindPart       = 'p' // p esc(bucket) esc(uploadID) be64(number)      -> part record (no inline data)
	kindPartData   = 'P' // P esc(bucket) esc(uploadID) be64(number)      -> inline data
	kindOutbox     = 'o' // o esc(id)                                     -> outbox record
)

// appendEscaped appends s escaped (0x00 -> 0x00 0xFF) without terminator.
// The result is a byte-wise prefix of appendComponent(s2) exactly when s is
// a prefix of s2.
func appendEscaped(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == 0 {
			dst = append(dst, 0x00, 0xFF)
		} else {
			dst = append(dst, c)
		}
	}
	return dst
}

// appendComponent appends s escaped and terminated by 0x00 0x01.
func appendComponent(dst []byte, s string) []byte {
	return append(appendEscaped(dst, s), 0x00, 0x01)
}

// componentEnd turns an encoding that ends with a component terminator
// (0x00 0x01) into the smallest key greater than every key that starts with
// that encoding, by changing the terminator to 0x00 0x02: no escaped byte
// sequence sorts between them.
func componentEnd(enc []byte) []byte {
	out := append([]byte(nil), enc...)
	out[len(out)-1] = 0x02
	return out
}

// prefixEnd returns the smallest key greater than every key starting with p,
// or nil when there is none (p is all 0xFF).
func prefixEnd(p []byte) []byte {
	end := append([]byte(nil), p...)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] < 0xFF {
			end[i]++
			return end[:i+1]
		}
	}
	return nil
}

var errBadKey = errors.New("pebblemeta: malformed key")

// readComponent decodes one escaped, terminated component from the front of
// b and returns it and the rest.
func readComponent(b []byte) (string, []byte, error) {
	// Fast path: no escaped 0x00 inside.
	for i := 0; i+1 < len(b); i++ {
		if b[i] == 0 {
			if b[i+1] == 0x01 {
				return string(b[:i]), b[i+2:], nil
			}
			break
		}
	}
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); i++ {
		c := b[i]
		if c != 0 {
			out = append(out, c)
			continue
		}
		if i+1 >= len(b) {
			return "", nil, errBadKey
		}
		switch b[i+1] {
		case 0xFF:
			out = append(out, 0)
			i++
		case 0x01:
			return string(out), b[i+2:], nil
		default:
			return "", nil, errBadKey
		}
	}
	return "", nil, errBadKey
}

func appendUint64(dst []byte, v uint64) []byte {
	return binary.BigEndian.AppendUint64(dst, v)
}

// appendInt64 appends v so that byte-wise order equals numeric order.
func appendInt64(dst []byte, v int64) []byte {
	return appendUint64(dst, uint64(v)^(1<<63))
}

func bucketKey(name string) []byte {
	return appendComponent([]byte{kindBucket}, name)
}

// versionKeyPrefix is the prefix of every version of (bucket, key).
func versionKeyPrefix(bucket, key string) []byte {
	b := make([]byte, 0, 1+len(bucket)+len(key)+8+8+16)
	b = append(b, kindVersion)
	b = appendComponent(b, bucket)
	return appendComponent(b, key)
}

func versionKey(bucket, key string, stamp uint64, versionID string) []byte {
	b := versionKeyPrefix(bucket, key)
	b = appendUint64(b, ^stamp)
	return appendComponent(b, versionID)
}

// parseVersionKey decodes the key, stamp and version ID of a version key of
// a known bucket prefix length. keyEnd is the length of the key's prefix
// that all versions of the object key share.
func parseVersionKey(k []byte, bucketPrefixLen int) (key string, stamp uint64, versionID string, keyEnd int, err error) {
	if len(k) < bucketPrefixLen {
		return "", 0, "", 0, errBadKey
	}
	key, rest, err := readComponent(k[bucketPrefixLen:])
	if err != nil {
		return "", 0, "", 0, err
	}
	if len(rest) < 8 {
		return "", 0, "", 0, errBadKey
	}
	keyEnd = len(k) - len(rest)
	stamp = ^binary.BigEndian.Uint64(rest)
	versionID, rest, err = readComponent(rest[8:])
	if err != nil || len(rest) != 0 {
		return "", 0, "", 0, errBadKey
	}
	return key, stamp, versionID, keyEnd, nil
}

func versionIdxKey(bucket, key, versionID string) []byte {
	b := make([]byte, 0, 1+len(bucket)+len(key)+len(versionID)+12)
	b = append(b, kindVersionIdx)
	b = appendComponent(b, bucket)
	b = appendComponent(b, key)
	return appendComponent(b, versionID)
}

func uploadKey(bucket, uploadID string) []byte {
	b := appendComponent([]byte{kindUpload}, bucket)
	return appendComponent(b, uploadID)
}

func uploadIdxPrefix(bucket string) []byte {
	return appendComponent([]byte{kindUploadIdx}, bucket)
}

func uploadIdxKey(bucket, key string, sec int64, nsec int32, uploadID string) []byte {
	b := uploadIdxPrefix(bucket)
	b = appendComponent(b, key)
	b = appendInt64(b, sec)
	b = binary.BigEndian.AppendUint32(b, uint32(nsec))
	return appendComponent(b, uploadID)
}

// parseUploadIdxKey returns the upload ID at the end of an upload index key.
func parseUploadIdxKey(k []byte, prefixLen int) (string, error) {
	if len(k) < prefixLen {
		return "", errBadKey
	}
	_, rest, err := readComponent(k[prefixLen:])
	if err != nil || len(rest) < 12 {
		return "", errBadKey
	}
	id, rest, err := readComponent(rest[12:])
	if err != nil || len(rest) != 0 {
		return "", errBadKey
	}
	return id, nil
}

func partPrefix(kind byte, bucket, uploadID string) []byte {
	b := appendComponent([]byte{kind}, bucket)
	return appendComponent(b, uploadID)
}

func partKey(kind byte, bucket, uploadID string, number int) []byte {
	return appendInt64(partPrefix(kind, bucket, uploadID), int64(number))
}

func outboxKey(id string) []byte {
	return appendComponent([]byte{kindOutbox}, id)
}
