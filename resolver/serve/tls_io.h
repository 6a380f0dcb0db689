/*
 * tls_io.h -- how DoT and DoH drive libevent's OpenSSL bufferevent so that
 * a pass of the event loop costs one read() and, on DoT, one TLS record and
 * one write() out, however many queries it answers (DoH writes a record per
 * answer: doh.c says why).
 *
 * libevent 2.1 reads one TLS record per SSL_read and writes only when epoll
 * says the socket is writable, so by default every query costs two read()s
 * (record header, then body), an epoll_ctl to watch for writability, one to
 * stop, and a record and a write() per chain of the output buffer.  With OpenSSL's
 * read-ahead (set on the SSL_CTX by tls.c) one read() takes every record
 * the client has sent; these functions make libevent finish them and write
 * the answers at once:
 *
 *   tls_io_after_read()  at the end of a read callback: when OpenSSL holds
 *                        more records (read-ahead), run the bufferevent's
 *                        read event again in this loop pass; otherwise
 *                        write what the answers queued (tls_io_flush()).
 *   tls_io_connected()   when the handshake is done: a query that arrived
 *                        with the client's Finished is in OpenSSL already.
 *   tls_io_reserve()     before answers are added to an empty output
 *                        buffer: one chain big enough for a batch, so that
 *                        it leaves as one SSL_write, one record, one send.
 *   tls_io_flush()       run the bufferevent's write event in this loop
 *                        pass instead of waiting for epoll (with the
 *                        changelist, worker.c, the write watch it added and
 *                        removes cancel out: no epoll_ctl).
 *
 * Every function takes a bufferevent_openssl_socket_new() bufferevent in
 * the open state, owned by the caller; none allocates but tls_io_reserve()
 * (the output chain, owned by the bufferevent).  Worker thread.
 */
#ifndef PLINKFWD_TLS_IO_H
#define PLINKFWD_TLS_IO_H

#include "common.h"

struct bufferevent;

/* Output chains start this large (a TLS record carries at most 16 KB). */
#define TLS_IO_BATCH 16000

void tls_io_after_read(struct bufferevent *bev);
void tls_io_connected(struct bufferevent *bev);
/* FWD_OK, or FWD_ENOMEM when the chain could not be had: the answers then
 * take chains as evbuffer_add finds them, correct but in more records. */
enum fwd_err tls_io_reserve(struct bufferevent *bev);
void tls_io_flush(struct bufferevent *bev);

#endif
