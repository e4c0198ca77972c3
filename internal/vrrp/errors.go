package vrrp

import "errors"

// ParseError is returned by Parse and Advertisement.Unmarshal for a packet
// that must be dropped. Reason is what metrics count; Detail says what was
// wrong with this packet.
//
// errors.Is(err, ErrChecksum) (and the other Err sentinels of the parse
// reasons) reports whether err is a ParseError with that reason.
type ParseError struct {
	Reason DropReason
	Detail string
}

// Error returns "vrrp: parse advertisement: " followed by the detail, or a
// description of the reason when there is no detail.
func (e *ParseError) Error() string {
	d := e.Detail
	if d == "" {
		d = parseReasonText[e.Reason]
		if d == "" {
			d = e.Reason.String()
		}
	}
	return "vrrp: parse advertisement: " + d
}

// Is reports whether target is a *ParseError with the same reason, so that
// errors.Is(err, ErrChecksum) matches every checksum error.
func (e *ParseError) Is(target error) bool {
	t, ok := target.(*ParseError)
	return ok && t.Reason == e.Reason
}

var parseReasonText = map[DropReason]string{
	DropTooShort: "too short",
	DropVersion:  "bad version",
	DropType:     "bad type",
	DropLength:   "length does not match address count",
	DropChecksum: "bad checksum",
	DropInterval: "max advert interval 0",
	DropFamily:   "source and destination address families differ",
}

// Sentinels for errors.Is, one per reason Parse can return.
var (
	ErrTooShort error = &ParseError{Reason: DropTooShort}
	ErrVersion  error = &ParseError{Reason: DropVersion}
	ErrType     error = &ParseError{Reason: DropType}
	ErrLength   error = &ParseError{Reason: DropLength}
	ErrChecksum error = &ParseError{Reason: DropChecksum}
	ErrInterval error = &ParseError{Reason: DropInterval}
	// ErrFamily: the src and dst given to Parse are not both IPv4 or both
	// IPv6, so the packet's family cannot be told (a caller bug, or a
	// malformed packet the caller should have dropped as DropMalformedIP).
	ErrFamily error = &ParseError{Reason: DropFamily}
)

// ReasonOf returns the drop reason carried by err, or DropNone if err is nil
// or does not wrap a *ParseError.
func ReasonOf(err error) DropReason {
	if pe, ok := errors.AsType[*ParseError](err); ok {
		return pe.Reason
	}
	return DropNone
}

// Sentinels for errors.Is on errors from Marshal, AppendMarshal and
// IntervalCentis.
var (
	ErrBadVRID          = errors.New("vrrp: VRID must be 1..255")
	ErrBadVersion       = errors.New("vrrp: version must be 2 or 3, and only VRRPv2 has authentication")
	ErrBadInterval      = errors.New("vrrp: max advert interval must be 1..4095 centiseconds")
	ErrTooManyAddresses = errors.New("vrrp: more than 255 addresses")
	ErrMixedFamilies    = errors.New("vrrp: addresses mix IPv4 and IPv6")
	ErrFamilyMismatch   = errors.New("vrrp: address family does not match source/destination")
)

// detailError is a message with context that wraps one of the sentinels.
type detailError struct {
	msg string
	err error
}

func (e *detailError) Error() string { return e.msg }
func (e *detailError) Unwrap() error { return e.err }
