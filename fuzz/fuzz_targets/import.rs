//! `hooktap import`: any bytes as a HAR file or an NDJSON export either import or give an
//! error; never a panic, and every imported Event's headers survive the Store's encoding.
#![no_main]

use hooktap::event::HeaderList;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = hooktap::import::read_from(data, "fuzz input", |imported| {
        let encoded = imported.event.headers.encode();
        assert_eq!(
            HeaderList::decode(&encoded).as_ref(),
            Some(&imported.event.headers),
            "headers do not survive encode/decode"
        );
        Ok(())
    });
});
