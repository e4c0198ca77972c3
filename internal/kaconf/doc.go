// Package kaconf reads keepalived's configuration (keepalived.conf(5)) and
// converts its VRRP part to vipd's configuration, for `vipd import`.
//
// The reader ([Loader]) knows the file's syntax, not its keywords: lines of
// words, blocks in braces (nested, opened at the end of a line or on a line
// of their own), comments from '#' or '!' to the end of the line, double
// quoted strings, "include PATTERN" with a glob relative to the including
// file, and conditional lines "@ID ..." / "@^ID ..." (keepalived -i ID).
// Every node keeps its file and line.
//
// The converter ([Convert]) walks the tree and writes vipd's YAML. Every
// keyword is either converted or reported as a [Note] — "FILE:LINE:
// keyword: not supported (why)" — never dropped silently.
package kaconf
