#!/bin/sh
# Print what the Dogebox gave us, then idle.
echo "all-fields: NICKNAME=${NICKNAME:-} PEERS=${PEERS:-} NETWORK=${NETWORK:-} MODE=${MODE:-} COLOR=${COLOR:-}"
if [ -r /storage/.dbx/config.env ]; then
        echo "all-fields: config.env has $(wc -l < /storage/.dbx/config.env) lines"
fi
while :; do
        sleep 3600
done
