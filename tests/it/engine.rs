//! In-process engine tests (see engine/).
