#!/bin/sh
# Stands in for a kselftest harness program in the runner's own tests: prints the TAP of
# "fx.passes" passing and "fx.fails" failing; with "hang" as argument it never finishes.
[ "$1" = hang ] && exec sleep 600
echo "TAP version 13"
echo "1..2"
echo "ok 1 fx.passes"
echo "not ok 2 fx.fails"
echo "# Totals: pass:1 fail:1 xfail:0 xpass:0 skip:0 error:0"
