//! Tinker's protobuf messages for `forward_backward` (the subset MetaClaw sends and reads),
//! written from the schema the Tinker SDK ships (package `tinker_public`). Oneofs with the one
//! member we use are plain optional fields: identical on the wire.

use std::collections::HashMap;

use super::backend::Datum as Example;

#[derive(Clone, Copy, Debug, PartialEq, Eq, prost::Enumeration)]
#[repr(i32)]
pub enum DType {
    Unspecified = 0,
    Float32 = 1,
    Int64 = 2,
    Int32 = 3,
    Bfloat16 = 4,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct ForwardBackwardRequest {
    #[prost(string, tag = "1")]
    pub model_id: String,
    #[prost(int32, tag = "2")]
    pub seq_id: i32,
    #[prost(message, repeated, tag = "3")]
    pub data: Vec<Datum>,
    #[prost(string, tag = "4")]
    pub loss_fn: String,
    #[prost(map = "string, double", tag = "5")]
    pub loss_fn_config: HashMap<String, f64>,
    #[prost(bool, tag = "6")]
    pub forward_only: bool,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct Datum {
    #[prost(message, repeated, tag = "1")]
    pub model_input: Vec<Chunk>,
    #[prost(map = "string, message", tag = "2")]
    pub loss_fn_inputs: HashMap<String, Tensor>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct Chunk {
    #[prost(message, optional, tag = "1")]
    pub encoded_text: Option<EncodedTextChunk>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct EncodedTextChunk {
    /// int32, little-endian.
    #[prost(bytes = "vec", tag = "1")]
    pub tokens: Vec<u8>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct Tensor {
    /// Row-major values in `dtype`, little-endian.
    #[prost(bytes = "vec", optional, tag = "1")]
    pub dense: Option<Vec<u8>>,
    #[prost(enumeration = "DType", tag = "3")]
    pub dtype: i32,
    #[prost(int64, repeated, tag = "4")]
    pub shape: Vec<i64>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct ForwardBackwardOutput {
    #[prost(string, tag = "1")]
    pub loss_fn_output_type: String,
    #[prost(message, repeated, tag = "2")]
    pub loss_fn_outputs: Vec<ArrayRecord>,
    #[prost(map = "string, double", tag = "3")]
    pub metrics: HashMap<String, f64>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct ArrayRecord {
    #[prost(string, tag = "1")]
    pub type_tag: String,
    #[prost(map = "string, message", tag = "2")]
    pub fields: HashMap<String, BatchedTensor>,
    #[prost(int64, tag = "3")]
    pub num_datums: i64,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct BatchedTensor {
    #[prost(bytes = "vec", tag = "1")]
    pub data: Vec<u8>,
    #[prost(bytes = "vec", tag = "2")]
    pub offsets: Vec<u8>,
    #[prost(enumeration = "DType", tag = "3")]
    pub dtype: i32,
    #[prost(int64, repeated, tag = "4")]
    pub trailing_shape: Vec<i64>,
}

/// The result of a sampling request (`asample`); only the prompt's logprobs are read.
#[derive(Clone, PartialEq, prost::Message)]
pub struct SampleResponse {
    /// float32, little-endian; NaN where undefined (the first token).
    #[prost(bytes = "vec", optional, tag = "2")]
    pub prompt_logprobs: Option<Vec<u8>>,
}

fn f32_tensor(v: &[f32]) -> Tensor {
    Tensor {
        dense: Some(v.iter().flat_map(|x| x.to_le_bytes()).collect()),
        dtype: DType::Float32 as i32,
        shape: vec![v.len() as i64],
    }
}

/// One example as a protobuf datum: tokens as int32, targets as int64, the rest float32.
pub fn datum(e: &Example) -> Datum {
    let tokens = e.input.iter().flat_map(|t| (*t as i32).to_le_bytes()).collect();
    let target = Tensor {
        dense: Some(e.target.iter().flat_map(|t| i64::from(*t).to_le_bytes()).collect()),
        dtype: DType::Int64 as i32,
        shape: vec![e.target.len() as i64],
    };
    Datum {
        model_input: vec![Chunk { encoded_text: Some(EncodedTextChunk { tokens }) }],
        loss_fn_inputs: HashMap::from([
            ("target_tokens".to_string(), target),
            ("logprobs".to_string(), f32_tensor(&e.logprobs)),
            ("advantages".to_string(), f32_tensor(&e.advantages)),
        ]),
    }
}

/// The JSON form older servers (and SkyRL's) also accept.
pub fn datum_json(e: &Example) -> serde_json::Value {
    let t = |data: serde_json::Value, dtype: &str, n: usize| serde_json::json!({"data": data, "dtype": dtype, "shape": [n]});
    serde_json::json!({
        "model_input": {"chunks": [{"type": "encoded_text", "tokens": e.input}]},
        "loss_fn_inputs": {
            "target_tokens": t(serde_json::json!(e.target), "int64", e.target.len()),
            "logprobs": t(serde_json::json!(e.logprobs), "float32", e.logprobs.len()),
            "advantages": t(serde_json::json!(e.advantages), "float32", e.advantages.len()),
        }
    })
}

/// Rough encoded size of a datum, for chunking requests under the service's byte limit.
pub fn approx_bytes(e: &Example) -> usize {
    e.input.len() * 4 + e.target.len() * 8 + (e.logprobs.len() + e.advantages.len()) * 4 + 64
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message;

    #[test]
    fn datums_round_trip_with_little_endian_payloads() {
        let e = Example {
            input: vec![1, 300],
            target: vec![300, 2],
            logprobs: vec![0.0, -0.5],
            advantages: vec![0.0, 1.0],
        };
        let req = ForwardBackwardRequest {
            model_id: "m".into(),
            seq_id: 1,
            data: vec![datum(&e)],
            loss_fn: "importance_sampling".into(),
            ..Default::default()
        };
        let back = ForwardBackwardRequest::decode(req.encode_to_vec().as_slice()).unwrap();
        let d = &back.data[0];
        assert_eq!(d.model_input[0].encoded_text.as_ref().unwrap().tokens, vec![1, 0, 0, 0, 44, 1, 0, 0]);
        let adv = d.loss_fn_inputs["advantages"].dense.as_ref().unwrap();
        assert_eq!(f32::from_le_bytes(adv[4..8].try_into().unwrap()), 1.0);
        assert_eq!(d.loss_fn_inputs["target_tokens"].dtype, DType::Int64 as i32);
    }
}
