//! `fake-services`: the fakes as one process, for the demo. Prints every message it delivers, so
//! that a person trying the demo can read their sign-in code.

use fakes::sms::{FakeSms, Provider};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let address = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:4010".to_owned());
    let fake = FakeSms::start(Provider::Aliyun, address.parse()?).await?;
    let account = fake.account();
    println!(
        "fake-services: Aliyun SMS on {} (key {}, secret {}, sign {}, template {})",
        account.base_url, account.key_id, account.secret, account.sign_name, account.template
    );
    let mut shown = 0;
    loop {
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        let delivered = fake.delivered();
        for message in &delivered[shown..] {
            println!(
                "fake-services: 短信 → {}：【{}】您的验证码是 {}，5 分钟内有效。",
                message.phone,
                account.sign_name,
                message.params.first().map(String::as_str).unwrap_or("")
            );
        }
        shown = delivered.len();
    }
}
