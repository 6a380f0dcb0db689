# peers.sh -- the two upstreams of the splice and fallback tests (sourced
# after lib.sh).  The "public" NSD on 127.0.0.11@5301 answers as the
# internet does: Azure-style CNAME chains through privatelink.* names into
# *.cloudapp.net / *.store.core.windows.net with public addresses.  The
# "azure" Knot on 127.0.0.12@5301 holds the private zones, as 168.63.129.16
# would inside a virtual network.
SPLICE_PEERS=$LIBDIR/peers/splice

start_splice_peers() {
	local p=$SPLICE_PEERS
	ok "NSD (public view, default group) starts" start_nsd 127.0.0.11@5301 \
		openai.azure.com="$p/openai.azure.com.public.zone" \
		privatelink.openai.azure.com="$p/privatelink.openai.azure.com.public.zone" \
		cloudapp.net="$p/cloudapp.net.public.zone" \
		blob.core.windows.net="$p/blob.core.windows.net.public.zone" \
		privatelink.blob.core.windows.net="$p/privatelink.blob.core.windows.net.public.zone" \
		store.core.windows.net="$p/store.core.windows.net.public.zone" \
		contoso.test="$p/contoso.test.public.zone" \
		privatelink.contoso.test="$p/privatelink.contoso.test.public.zone"
	ok "Knot (azure group, private zones) starts" start_knot 127.0.0.12@5301 \
		privatelink.openai.azure.com="$p/privatelink.openai.azure.com.zone" \
		privatelink.contoso.test="$p/privatelink.contoso.test.zone"
}
