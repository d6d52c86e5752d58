#!/usr/bin/env bash
# Issues a bearer token for ledgerd's --access_file.
# Usage: scripts/issue-token.sh NAME ROLE   (ROLE: pbx, operator, auditor or admin)
# Prints the token once (on stdout; hand it to its holder, it is not stored anywhere) and,
# on stderr, the line to append to the access file, which holds only its SHA-256.
set -euo pipefail

if [ $# -ne 2 ]; then
  echo "usage: $0 NAME ROLE   (ROLE: pbx, operator, auditor or admin)" >&2
  exit 2
fi
name=$1
role=$2
case "$role" in
  pbx|operator|auditor|admin) ;;
  *) echo "issue-token: unknown role \"$role\"; use pbx, operator, auditor or admin" >&2; exit 2 ;;
esac
if ! [[ "$name" =~ ^[A-Za-z0-9._@-]{1,128}$ ]]; then
  echo "issue-token: name \"$name\" must be 1-128 letters, digits or -_.@" >&2
  exit 2
fi
token=$(openssl rand -hex 32)
hash=$(printf '%s' "$token" | sha256sum | cut -d' ' -f1)
echo "$token"
echo "append to the access file, then send SIGHUP to ledgerd (or wait a second):" >&2
printf 'token  %s  %s  sha256:%s\n' "$name" "$role" "$hash" >&2
