# Two pktlens on one interface through classic tc (this kernel has no tcx): each has its own filter
# (handle = its pid) and counts every packet; kill -9 of one leaves the other exact, and a new one
# removes the dead one's filter, attaches beside the survivor and counts; nothing is left at the end.
. /tests/lib.sh
p1= p2= p3=

"$PKTLENS" --list-probes >/tmp/cl.txt 2>&1 || fail "--list-probes failed"
grep -q 'tc as classic tc filters' /tmp/cl.txt || skip_kernel "FEATURE classic-only tc (it has tcx)"

ip link add pl7 type dummy || skip_kernel "FEATURE dummy interfaces"
# whatever happens, the next case finds no pl7 and no pktlens of this one
trap 'kill -9 $p1 $p2 $p3 2>/dev/null; ip link del pl7 2>/dev/null' EXIT
ip link set pl7 up
ip addr add 10.98.0.1/24 dev pl7

# icmp_out FILE: ICMP packets out of pl7 in the last snapshot of FILE.
icmp_out() {
	tail -n 1 "$1" | jq '[.flows[] | select(.iface == "pl7" and .proto == "icmp") | .tx_packets] | add // 0'
}

pings() {
	# dummy is NOARP: each echo request leaves pl7 at once (and is dropped there)
	ping -c "$1" -i 0.2 -W 1 10.98.0.2 >/dev/null 2>&1
	sleep 1.5
}

pl_start /tmp/c1.json -i pl7 --probes tc
p1=$PL_PID
pl_start /tmp/c2.json -i pl7 --probes tc
p2=$PL_PID
"$PKTLENS" -i pl7 --list-probes >/tmp/cl2.txt 2>&1
grep "tc-egress:pl7" /tmp/cl2.txt
n=$(grep "tc-egress:pl7" /tmp/cl2.txt | grep -o 'tc tc_egress_flows* id' | wc -l)
expect_eq "pktlens filters on pl7 egress while two run" "$n" 2
grep -q "tc-egress:pl7 .*\[tc handle 0x" /tmp/cl2.txt || fail "the attach method is not shown"

pings 5
expect_eq "instance 1 counts the 5 pings" "$(icmp_out /tmp/c1.json)" 5
expect_eq "instance 2 counts the 5 pings" "$(icmp_out /tmp/c2.json)" 5

kill -9 "$p1"
wait "$p1" 2>/dev/null
pings 5
expect_eq "after kill -9 of instance 1, instance 2 counts 10" "$(icmp_out /tmp/c2.json)" 10

pl_start /tmp/c3.json -i pl7 --probes tc
p3=$PL_PID
pings 4
expect_eq "a new instance counts its 4" "$(icmp_out /tmp/c3.json)" 4
expect_eq "instance 2 counts 14" "$(icmp_out /tmp/c2.json)" 14
"$PKTLENS" -i pl7 --list-probes >/tmp/cl3.txt 2>&1
n=$(grep "tc-egress:pl7" /tmp/cl3.txt | grep -o 'tc tc_egress_flows* id' | wc -l)
expect_eq "pktlens filters on pl7 egress: the dead one's removed, two live ones" "$n" 2
[ -e "/run/pktlens/$p1" ] && fail "the dead instance's /run/pktlens/$p1 is still there"

PL_PID=$p2
pl_stop
PL_PID=$p3
pl_stop
"$PKTLENS" -i pl7 --list-probes >/tmp/cl4.txt 2>&1
n=$(grep "tc-egress:pl7" /tmp/cl4.txt | grep -o 'tc_egress_flows*' | wc -l)
expect_eq "pktlens filters left on pl7 after both stopped" "$n" 0
left=$(ls /run/pktlens 2>/dev/null | wc -l)
expect_eq "/run/pktlens entries left" "$left" 0
ip link del pl7
