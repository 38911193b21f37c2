//! `fake-services`: the fakes as one process, for running the platform by hand. Prints every
//! message they deliver, so that a person trying it can read their sign-in code and watch pushes.
//! (`cargo xtask up` runs the same fakes in-process.)

use fakes::{
    apns::FakeApns, fcm::FakeFcm, hms::FakeHms, sms::FakeSms, sms::Provider, wechat::FakeWechat,
};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let host = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1".to_owned());
    let sms = FakeSms::start(Provider::Aliyun, format!("{host}:4010").parse()?).await?;
    let fcm = FakeFcm::start(format!("{host}:4011").parse()?).await?;
    let hms = FakeHms::start(format!("{host}:4012").parse()?).await?;
    let wechat = FakeWechat::start(format!("{host}:4013").parse()?).await?;
    let apns = FakeApns::start(format!("{host}:4014").parse()?).await?;
    let account = sms.account();
    println!(
        "fake-services: Aliyun SMS on {} (key {}, secret {}, sign {}, code template {}, notice template {})",
        account.base_url,
        account.key_id,
        account.secret,
        account.sign_name,
        account.template,
        fakes::sms::notice_template(Provider::Aliyun)
    );
    println!(
        "fake-services: Google OAuth + FCM on {} (fcm_service_account: FakeFcm::service_account())",
        fcm.base_url()
    );
    println!(
        "fake-services: Huawei OAuth + Push Kit on {} (client {}, secret {})",
        hms.base_url(),
        fakes::hms::CLIENT_ID,
        fakes::hms::CLIENT_SECRET
    );
    println!(
        "fake-services: WeChat on {} (app {}, secret {})",
        wechat.base_url(),
        fakes::wechat::APP_ID,
        fakes::wechat::APP_SECRET
    );
    println!(
        "fake-services: APNs (HTTP/2, prior knowledge) on {} (team {}, key {}, topic {}; the .p8 key is fakes::apns::PRIVATE_KEY)",
        apns.base_url(),
        fakes::apns::TEAM_ID,
        fakes::apns::KEY_ID,
        fakes::apns::TOPIC
    );
    fakes::print_deliveries(&sms, &fcm, &hms, &apns).await;
    Ok(())
}
