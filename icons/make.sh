#!/usr/bin/env bash
# Draws MetaClaw's icons with ImageMagick: a rounded tile with three claw strokes that curve
# upward (an agent that keeps climbing), and the tray's state badges. Run from icons/.
set -euo pipefail
claw() { # size bg fg out
  local s=$1 bg=$2 fg=$3 out=$4 r=$(( $1 / 5 )) w=$(( $1 / 11 ))
  convert -size "${s}x${s}" xc:none -fill "$bg" -draw "roundrectangle 0,0 $((s-1)),$((s-1)) $r,$r" \
    -stroke "$fg" -strokewidth "$w" -fill none -draw "stroke-linecap round" \
    -draw "path 'M $((s*22/100)),$((s*78/100)) Q $((s*30/100)),$((s*40/100)) $((s*45/100)),$((s*22/100))'" \
    -draw "path 'M $((s*40/100)),$((s*82/100)) Q $((s*48/100)),$((s*44/100)) $((s*63/100)),$((s*26/100))'" \
    -draw "path 'M $((s*58/100)),$((s*86/100)) Q $((s*66/100)),$((s*48/100)) $((s*81/100)),$((s*30/100))'" \
    "PNG32:$out"
}
badge() { # in color out
  local s; s=$(identify -format %w "$1")
  convert "$1" -fill "$2" -stroke white -strokewidth $(( s / 16 + 1 )) \
    -draw "circle $((s*76/100)),$((s*24/100)) $((s*76/100)),$((s*4/100))" "PNG32:$3"
}
claw 512 '#0f766e' white icon.png
convert icon.png -resize 128x128 PNG32:128x128.png
convert icon.png -resize 32x32 PNG32:32x32.png
claw 64 '#0f766e' white tray.png
claw 64 '#6b7280' '#e5e7eb' tray-paused.png
badge tray.png '#f59e0b' tray-review.png
badge tray.png '#dc2626' tray-error.png
warn() { # in out: an amber warning triangle with a white "!" (a part of MetaClaw is degraded)
  local s; s=$(identify -format %w "$1")
  convert "$1" -fill '#f59e0b' -stroke white -strokewidth $(( s / 16 + 1 )) \
    -draw "polygon $((s*76/100)),$((s*2/100)) $((s*98/100)),$((s*44/100)) $((s*54/100)),$((s*44/100))" \
    -stroke none -fill white -draw "rectangle $((s*74/100)),$((s*17/100)) $((s*79/100)),$((s*31/100))" \
    -draw "circle $((s*765/1000)),$((s*37/100)) $((s*765/1000)),$((s*39/100))" "PNG32:$2"
}
warn tray.png tray-degraded.png
