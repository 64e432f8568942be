#!/bin/sh
echo "crasher: starting, will exit with status 3 in a moment"
sleep 1
echo "crasher: exiting" >&2
exit 3
