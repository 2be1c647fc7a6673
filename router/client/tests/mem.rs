//! The in-memory network honours the client API's contract: streams carry bytes both ways with
//! ports and the remote destination, names/b32/base64 resolve, unknown and unreachable targets
//! give the right errors, datagrams carry (or hide) the sender by kind.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use i2p_client::mem::MemNetwork;
use i2p_client::{
    ClientError, ConnectOptions, Datagram, DatagramKind, DestinationSpec, Resolved, Target,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[tokio::test]
async fn streams_names_and_errors() {
    let net = MemNetwork::new();
    let client = net.client();
    let server = client
        .create_destination(DestinationSpec::default())
        .await
        .unwrap();
    let alice = client
        .create_destination(DestinationSpec::default())
        .await
        .unwrap();
    net.add_name("server.i2p", server.destination());
    assert!(server.is_ready());

    let srv = server.clone();
    let echo = tokio::spawn(async move {
        let mut s = srv.accept().await.unwrap();
        assert_eq!((s.local_port, s.remote_port), (80, 1234));
        let mut buf = vec![0u8; 5];
        s.read_exact(&mut buf).await.unwrap();
        s.write_all(&buf).await.unwrap();
        s.remote.clone()
    });
    let opts = ConnectOptions {
        from_port: 1234,
        to_port: 80,
        timeout: None,
    };
    let mut s = alice
        .connect(Target::Name("Server.I2P".into()), opts)
        .await
        .unwrap();
    assert_eq!(&s.remote, server.destination());
    s.write_all(b"hello").await.unwrap();
    let mut back = [0u8; 5];
    s.read_exact(&mut back).await.unwrap();
    assert_eq!(&back, b"hello");
    assert_eq!(&echo.await.unwrap(), alice.destination());

    // b32 and base64 resolve; unknown names and absent destinations fail distinctly
    assert_eq!(
        client.resolve(&server.b32()).await.unwrap().hash(),
        server.destination().hash()
    );
    let b64 = server.destination().to_base64();
    assert_eq!(
        client.resolve(&b64).await.unwrap(),
        Resolved::Destination(server.destination().clone())
    );
    assert_eq!(
        client.resolve("nobody.i2p").await,
        Err(ClientError::UnknownName("nobody.i2p".into()))
    );
    assert!(matches!(
        client.resolve("not a key").await,
        Err(ClientError::InvalidKey(_))
    ));
    let gone = client
        .create_destination(DestinationSpec::default())
        .await
        .unwrap();
    let gone_hash = gone.destination().hash();
    gone.close();
    assert!(matches!(
        alice
            .connect(Target::Hash(gone_hash), ConnectOptions::default())
            .await,
        Err(ClientError::LeaseSetNotFound(_))
    ));
    // the same keys cannot be registered twice
    let keys = server.private_keys();
    assert_eq!(
        i2p_client::PrivateKeys::from_bytes(&keys.0)
            .unwrap()
            .destination,
        *server.destination()
    );
    let dup = client
        .create_destination(DestinationSpec {
            keys: Some(keys),
            ..Default::default()
        })
        .await;
    assert!(matches!(dup, Err(ClientError::DuplicateDestination)));
}

#[tokio::test]
async fn datagrams_carry_the_sender_by_kind() {
    let net = MemNetwork::new();
    let client = net.client();
    let a = client
        .create_destination(DestinationSpec::default())
        .await
        .unwrap();
    let b = client
        .create_destination(DestinationSpec::default())
        .await
        .unwrap();
    for kind in [
        DatagramKind::Repliable,
        DatagramKind::Raw,
        DatagramKind::Datagram3,
    ] {
        let dg = Datagram {
            kind,
            from: None,
            from_port: 5,
            to_port: 6,
            payload: b"ping".to_vec(),
        };
        a.send_datagram(Target::Destination(b.destination().clone()), dg)
            .await
            .unwrap();
        let got = b.recv_datagram().await.unwrap();
        assert_eq!(
            (got.from_port, got.to_port, &got.payload[..]),
            (5, 6, &b"ping"[..])
        );
        match kind {
            DatagramKind::Raw => assert_eq!(got.from, None),
            DatagramKind::Datagram3 => {
                assert_eq!(got.from, Some(Resolved::Hash(a.destination().hash())))
            }
            _ => assert_eq!(
                got.from,
                Some(Resolved::Destination(a.destination().clone()))
            ),
        }
    }
}
