//! Every sentence of the join and password-reset pages, in English, Spanish
//! and Portuguese, and how a page picks its language: `?lang=` first, then
//! the browser's Accept-Language, then English. Placeholders in braces
//! (`{team}`) are filled by `fill`, after which the page escapes the result.

use axum::http::HeaderMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    En,
    Es,
    Pt,
}

impl Lang {
    pub const ALL: [Lang; 3] = [Lang::En, Lang::Es, Lang::Pt];

    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Es => "es",
            Lang::Pt => "pt",
        }
    }

    /// The language's name in itself, for the switcher.
    pub fn name(self) -> &'static str {
        match self {
            Lang::En => "English",
            Lang::Es => "Español",
            Lang::Pt => "Português",
        }
    }

    /// A language tag's language, if the pages have it (`pt-BR` is `pt`).
    pub fn parse(tag: &str) -> Option<Lang> {
        let primary = tag.trim().split(['-', '_']).next()?.to_ascii_lowercase();
        Lang::ALL.into_iter().find(|l| l.code() == primary)
    }

    /// `?lang=` if it names one of ours, else the most preferred of
    /// Accept-Language that we have, else English.
    pub fn pick(query: Option<&str>, headers: &HeaderMap) -> Lang {
        if let Some(lang) = query.and_then(Lang::parse) {
            return lang;
        }
        let accept = headers.get(axum::http::header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()).unwrap_or("");
        let mut offered: Vec<(f32, usize, Lang)> = accept
            .split(',')
            .enumerate()
            .filter_map(|(i, item)| {
                let mut parts = item.split(';');
                let lang = Lang::parse(parts.next()?)?;
                let q = parts
                    .find_map(|p| p.trim().strip_prefix("q="))
                    .and_then(|q| q.trim().parse::<f32>().ok())
                    .unwrap_or(1.0);
                (q > 0.0).then_some((q, i, lang))
            })
            .collect();
        // Highest q first; among equals, the order given.
        offered.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        offered.first().map_or(Lang::En, |o| o.2)
    }

    pub fn text(self) -> &'static Text {
        match self {
            Lang::En => &EN,
            Lang::Es => &ES,
            Lang::Pt => &PT,
        }
    }
}

/// Replace `{name}` placeholders with values (plain text; escaped later).
pub fn fill(template: &str, values: &[(&str, &str)]) -> String {
    let mut out = template.to_string();
    for (name, value) in values {
        out = out.replace(&format!("{{{name}}}"), value);
    }
    out
}

/// One language's sentences.
pub struct Text {
    pub language: &'static str,
    pub skip: &'static str,
    pub errors_heading: &'static str,
    pub email: &'static str,
    pub name: &'static str,
    pub password: &'static str,
    pub new_password: &'static str,
    pub confirm: &'static str,
    pub password_hint: &'static str,
    pub name_hint: &'static str,

    pub join_title: &'static str,
    pub join_intro: &'static str,
    pub join_intro_circle: &'static str,
    pub join_for: &'static str,
    pub join_existing: &'static str,
    pub join_link_existing_hint: &'static str,
    pub join_submit: &'static str,
    pub join_expires: &'static str,
    pub joined_title: &'static str,
    pub joined_body: &'static str,
    pub joined_steps: [&'static str; 3],

    pub domain_intro: &'static str,
    pub domain_submit: &'static str,
    pub domain_sent_body: &'static str,
    pub err_other_domain: &'static str,

    pub reset_title: &'static str,
    pub reset_intro: &'static str,
    pub reset_submit: &'static str,
    pub reset_sent_title: &'static str,
    pub reset_sent_body: &'static str,
    pub reset_choose_title: &'static str,
    pub reset_choose_intro: &'static str,
    pub reset_choose_submit: &'static str,
    pub reset_done_title: &'static str,
    pub reset_done_body: &'static str,
    pub reset_again: &'static str,
    pub forgot: &'static str,

    pub link_unknown_title: &'static str,
    pub link_unknown_body: &'static str,
    pub link_expired_title: &'static str,
    pub invitation_expired_body: &'static str,
    pub reset_expired_body: &'static str,
    pub link_used_title: &'static str,
    pub invitation_used_body: &'static str,
    pub reset_used_body: &'static str,
    pub invitation_cancelled_title: &'static str,
    pub invitation_cancelled_body: &'static str,
    pub already_member_title: &'static str,
    pub already_member_body: &'static str,
    pub no_public_url_title: &'static str,
    pub no_public_url_body: &'static str,
    pub failed_title: &'static str,
    pub failed_body: &'static str,

    pub err_name_required: &'static str,
    pub err_name_long: &'static str,
    pub err_email: &'static str,
    pub err_password_short: &'static str,
    pub err_password_long: &'static str,
    pub err_mismatch: &'static str,
    pub err_wrong_password: &'static str,
    pub err_throttled: &'static str,
    pub err_other_email: &'static str,
}

pub static EN: Text = Text {
    language: "Language",
    skip: "Skip to the form",
    errors_heading: "Please correct the following:",
    email: "Email",
    name: "Your name",
    password: "Password",
    new_password: "New password",
    confirm: "Repeat the password",
    password_hint: "At least 8 characters.",
    name_hint: "As your co-facilitators and organizers will see it.",

    join_title: "Join {team}",
    join_intro: "{inviter} invited you to join the team {team} on Circles.",
    join_intro_circle: "{inviter} invited you to join the team {team} on Circles and to co-facilitate the circle {circle}.",
    join_for: "This invitation is for {email}.",
    join_existing: "{email} already has a Circles account: enter its password to join the team with it.",
    join_link_existing_hint: "If your email already has a Circles account, enter that account's password: you will join with it.",
    join_submit: "Join the team",
    join_expires: "This link works once, until {date} (UTC).",
    joined_title: "Welcome to {team}",
    joined_body: "You are in. Now sign in from the Circles app on your laptop:",
    joined_steps: [
        "Open Circles and go to Sync.",
        "Paste this server address:",
        "Sign in with your email and the password you just chose.",
    ],

    domain_intro: "Everyone with an email address at {domain} may join the team {team} on Circles. Enter yours: we will send it a link to finish joining.",
    domain_submit: "Send me the link",
    domain_sent_body: "If {email} may still join, a link to finish joining is on its way. It works once, for 7 days.",
    err_other_domain: "Use your address at {domain}.",

    reset_title: "Reset your password",
    reset_intro: "Enter the email of your Circles account. We will send it a link to choose a new password.",
    reset_submit: "Send the link",
    reset_sent_title: "Check your email",
    reset_sent_body: "If {email} has a Circles account, a link to choose a new password is on its way. It works once, for one hour.",
    reset_choose_title: "Choose a new password",
    reset_choose_intro: "For the account {email}.",
    reset_choose_submit: "Set the password",
    reset_done_title: "Your password is changed",
    reset_done_body: "Every device was signed out. Sign in again from the Circles app with your new password.",
    reset_again: "Ask for a new link",
    forgot: "Forgot your password?",

    link_unknown_title: "This link does not work",
    link_unknown_body: "This server did not make this link. Check that you copied all of it, or ask for a new one.",
    link_expired_title: "This link has expired",
    invitation_expired_body: "Invitations work for 7 days. Ask the organizer who invited you to send it again.",
    reset_expired_body: "Reset links work for one hour. Ask for a new one.",
    link_used_title: "This link was used already",
    invitation_used_body: "Each invitation works once. If you joined with it, sign in from the Circles app; otherwise ask for a new invitation.",
    reset_used_body: "Each reset link works once. If you did not set a new password with it, ask for a new link.",
    invitation_cancelled_title: "This invitation was cancelled",
    invitation_cancelled_body: "An organizer cancelled it. Ask them for a new one if you should join the team.",
    already_member_title: "You are in this team already",
    already_member_body: "Nothing to do: sign in from the Circles app with your email and password. The link still works for whoever else it was meant for.",
    no_public_url_title: "Email links are not set up on this server",
    no_public_url_body: "This server does not know its public address, so it cannot send links by email. Its administrator must set --public-url (public_url in the config file).",
    failed_title: "Something went wrong",
    failed_body: "The server could not do this just now; nothing was changed. Try again in a few minutes.",

    err_name_required: "Enter your name.",
    err_name_long: "Your name is too long (200 characters at most).",
    err_email: "Enter an email address such as name@example.org.",
    err_password_short: "The password needs at least 8 characters.",
    err_password_long: "The password can have at most 1024 characters.",
    err_mismatch: "The two passwords are not the same.",
    err_wrong_password: "That is not this account's password.",
    err_throttled: "Too many tries. Wait a few minutes, then try again.",
    err_other_email: "This invitation is for another email address.",
};

pub static ES: Text = Text {
    language: "Idioma",
    skip: "Ir al formulario",
    errors_heading: "Corrige lo siguiente:",
    email: "Correo electrónico",
    name: "Tu nombre",
    password: "Contraseña",
    new_password: "Contraseña nueva",
    confirm: "Repite la contraseña",
    password_hint: "Al menos 8 caracteres.",
    name_hint: "Como lo verán tus cofacilitadores y organizadores.",

    join_title: "Únete a {team}",
    join_intro: "{inviter} te invitó a unirte al equipo {team} en Circles.",
    join_intro_circle: "{inviter} te invitó a unirte al equipo {team} en Circles y a cofacilitar el círculo {circle}.",
    join_for: "Esta invitación es para {email}.",
    join_existing: "{email} ya tiene una cuenta de Circles: escribe su contraseña para unirte al equipo con ella.",
    join_link_existing_hint: "Si tu correo ya tiene una cuenta de Circles, escribe la contraseña de esa cuenta: te unirás con ella.",
    join_submit: "Unirme al equipo",
    join_expires: "Este enlace funciona una vez, hasta el {date} (UTC).",
    joined_title: "Te damos la bienvenida a {team}",
    joined_body: "Ya estás dentro. Ahora inicia sesión desde la aplicación Circles en tu computadora:",
    joined_steps: [
        "Abre Circles y ve a Sincronizar.",
        "Pega esta dirección del servidor:",
        "Inicia sesión con tu correo y la contraseña que acabas de elegir.",
    ],

    domain_intro: "Toda persona con una dirección de correo en {domain} puede unirse al equipo {team} en Circles. Escribe la tuya: te enviaremos un enlace para terminar.",
    domain_submit: "Enviarme el enlace",
    domain_sent_body: "Si {email} todavía puede unirse, va en camino un enlace para terminar. Funciona una vez, durante 7 días.",
    err_other_domain: "Usa tu dirección en {domain}.",

    reset_title: "Restablece tu contraseña",
    reset_intro: "Escribe el correo de tu cuenta de Circles. Te enviaremos un enlace para elegir una contraseña nueva.",
    reset_submit: "Enviar el enlace",
    reset_sent_title: "Revisa tu correo",
    reset_sent_body: "Si {email} tiene una cuenta de Circles, va en camino un enlace para elegir una contraseña nueva. Funciona una vez, durante una hora.",
    reset_choose_title: "Elige una contraseña nueva",
    reset_choose_intro: "Para la cuenta {email}.",
    reset_choose_submit: "Guardar la contraseña",
    reset_done_title: "Tu contraseña cambió",
    reset_done_body: "Se cerró la sesión en todos los dispositivos. Vuelve a iniciar sesión en la aplicación Circles con tu contraseña nueva.",
    reset_again: "Pedir un enlace nuevo",
    forgot: "¿Olvidaste tu contraseña?",

    link_unknown_title: "Este enlace no funciona",
    link_unknown_body: "Este servidor no creó este enlace. Comprueba que lo copiaste completo o pide uno nuevo.",
    link_expired_title: "Este enlace caducó",
    invitation_expired_body: "Las invitaciones funcionan 7 días. Pide a quien te invitó que la envíe de nuevo.",
    reset_expired_body: "Los enlaces para restablecer funcionan una hora. Pide uno nuevo.",
    link_used_title: "Este enlace ya se usó",
    invitation_used_body: "Cada invitación funciona una vez. Si te uniste con ella, inicia sesión desde la aplicación Circles; si no, pide una invitación nueva.",
    reset_used_body: "Cada enlace funciona una vez. Si no elegiste una contraseña nueva con él, pide un enlace nuevo.",
    invitation_cancelled_title: "Esta invitación se canceló",
    invitation_cancelled_body: "Una persona organizadora la canceló. Pídele una nueva si debes unirte al equipo.",
    already_member_title: "Ya estás en este equipo",
    already_member_body: "No hay nada que hacer: inicia sesión desde la aplicación Circles con tu correo y tu contraseña. El enlace sigue funcionando para la persona a quien estaba destinado.",
    no_public_url_title: "Los enlaces por correo no están configurados en este servidor",
    no_public_url_body: "Este servidor no conoce su dirección pública, así que no puede enviar enlaces por correo. Su administrador debe configurar --public-url (public_url en el archivo de configuración).",
    failed_title: "Algo salió mal",
    failed_body: "El servidor no pudo hacerlo ahora; no se cambió nada. Inténtalo de nuevo en unos minutos.",

    err_name_required: "Escribe tu nombre.",
    err_name_long: "Tu nombre es demasiado largo (200 caracteres como máximo).",
    err_email: "Escribe un correo como nombre@ejemplo.org.",
    err_password_short: "La contraseña necesita al menos 8 caracteres.",
    err_password_long: "La contraseña puede tener 1024 caracteres como máximo.",
    err_mismatch: "Las dos contraseñas no coinciden.",
    err_wrong_password: "Esa no es la contraseña de esta cuenta.",
    err_throttled: "Demasiados intentos. Espera unos minutos y vuelve a intentarlo.",
    err_other_email: "Esta invitación es para otra dirección de correo.",
};

pub static PT: Text = Text {
    language: "Idioma",
    skip: "Ir para o formulário",
    errors_heading: "Corrija o seguinte:",
    email: "E-mail",
    name: "Seu nome",
    password: "Senha",
    new_password: "Nova senha",
    confirm: "Repita a senha",
    password_hint: "Pelo menos 8 caracteres.",
    name_hint: "Como seus cofacilitadores e organizadores o verão.",

    join_title: "Entre em {team}",
    join_intro: "{inviter} convidou você para entrar na equipe {team} no Circles.",
    join_intro_circle: "{inviter} convidou você para entrar na equipe {team} no Circles e para cofacilitar o círculo {circle}.",
    join_for: "Este convite é para {email}.",
    join_existing: "{email} já tem uma conta no Circles: digite a senha dela para entrar na equipe com essa conta.",
    join_link_existing_hint: "Se o seu e-mail já tem uma conta no Circles, digite a senha dessa conta: você entrará com ela.",
    join_submit: "Entrar na equipe",
    join_expires: "Este link funciona uma vez, até {date} (UTC).",
    joined_title: "Boas-vindas a {team}",
    joined_body: "Pronto. Agora entre pelo aplicativo Circles no seu computador:",
    joined_steps: [
        "Abra o Circles e vá em Sincronizar.",
        "Cole este endereço do servidor:",
        "Entre com seu e-mail e a senha que você acabou de escolher.",
    ],

    domain_intro: "Todas as pessoas com um endereço de e-mail em {domain} podem entrar na equipe {team} no Circles. Digite o seu: enviaremos um link para concluir.",
    domain_submit: "Enviar o link",
    domain_sent_body: "Se {email} ainda puder entrar, um link para concluir está a caminho. Ele funciona uma vez, por 7 dias.",
    err_other_domain: "Use seu endereço em {domain}.",

    reset_title: "Redefina sua senha",
    reset_intro: "Digite o e-mail da sua conta do Circles. Enviaremos um link para escolher uma nova senha.",
    reset_submit: "Enviar o link",
    reset_sent_title: "Confira seu e-mail",
    reset_sent_body: "Se {email} tiver uma conta no Circles, um link para escolher uma nova senha está a caminho. Ele funciona uma vez, por uma hora.",
    reset_choose_title: "Escolha uma nova senha",
    reset_choose_intro: "Para a conta {email}.",
    reset_choose_submit: "Salvar a senha",
    reset_done_title: "Sua senha foi alterada",
    reset_done_body: "Todos os dispositivos foram desconectados. Entre de novo pelo aplicativo Circles com a nova senha.",
    reset_again: "Pedir um novo link",
    forgot: "Esqueceu sua senha?",

    link_unknown_title: "Este link não funciona",
    link_unknown_body: "Este servidor não criou este link. Verifique se você o copiou inteiro ou peça um novo.",
    link_expired_title: "Este link expirou",
    invitation_expired_body: "Os convites funcionam por 7 dias. Peça a quem convidou você para enviá-lo de novo.",
    reset_expired_body: "Os links de redefinição funcionam por uma hora. Peça um novo.",
    link_used_title: "Este link já foi usado",
    invitation_used_body: "Cada convite funciona uma vez. Se você entrou com ele, entre pelo aplicativo Circles; se não, peça um novo convite.",
    reset_used_body: "Cada link funciona uma vez. Se você não escolheu uma nova senha com ele, peça um novo link.",
    invitation_cancelled_title: "Este convite foi cancelado",
    invitation_cancelled_body: "Uma pessoa organizadora o cancelou. Peça um novo se você deve entrar na equipe.",
    already_member_title: "Você já está nesta equipe",
    already_member_body: "Não há nada a fazer: entre pelo aplicativo Circles com seu e-mail e sua senha. O link continua funcionando para quem ele foi feito.",
    no_public_url_title: "Links por e-mail não estão configurados neste servidor",
    no_public_url_body: "Este servidor não conhece seu endereço público e por isso não pode enviar links por e-mail. O administrador deve definir --public-url (public_url no arquivo de configuração).",
    failed_title: "Algo deu errado",
    failed_body: "O servidor não conseguiu fazer isso agora; nada foi alterado. Tente de novo em alguns minutos.",

    err_name_required: "Digite seu nome.",
    err_name_long: "Seu nome é longo demais (no máximo 200 caracteres).",
    err_email: "Digite um e-mail como nome@exemplo.org.",
    err_password_short: "A senha precisa de pelo menos 8 caracteres.",
    err_password_long: "A senha pode ter no máximo 1024 caracteres.",
    err_mismatch: "As duas senhas não são iguais.",
    err_wrong_password: "Essa não é a senha desta conta.",
    err_throttled: "Tentativas demais. Espere alguns minutos e tente de novo.",
    err_other_email: "Este convite é para outro endereço de e-mail.",
};

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(accept: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(axum::http::header::ACCEPT_LANGUAGE, accept.parse().unwrap());
        h
    }

    #[test]
    fn the_query_wins_then_accept_language_by_preference() {
        assert_eq!(Lang::pick(Some("es"), &headers("pt-BR")), Lang::Es);
        assert_eq!(Lang::pick(Some("xx"), &headers("pt-BR,pt;q=0.9")), Lang::Pt);
        assert_eq!(Lang::pick(None, &headers("fr, es;q=0.5, pt;q=0.8")), Lang::Pt);
        assert_eq!(Lang::pick(None, &headers("fr, de")), Lang::En);
        assert_eq!(Lang::pick(None, &headers("es;q=0, en")), Lang::En);
        assert_eq!(Lang::pick(None, &HeaderMap::new()), Lang::En);
    }

    #[test]
    fn placeholders_are_filled() {
        assert_eq!(fill(EN.join_title, &[("team", "Chicago")]), "Join Chicago");
    }
}
