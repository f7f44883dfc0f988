#!/bin/sh
# A check script copied into each workspace as scripts/.
exit 0
